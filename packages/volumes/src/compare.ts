/**
 * Differences between two layouts of the same disk (two states: a snapshot
 * and the active disk, an overlay and its backing file): the table, each
 * partition, each signature, and the boot code.
 */
import type { BootCode, Partition, VolumeLayout } from "./layout.js";

/** One difference in the volume layout. */
export interface LayoutChange {
  /** `scheme`, `table-id`, `partition-added`, `partition-removed`, `partition-changed`, `filesystem-changed`. */
  kind:
    | "scheme"
    | "table-id"
    | "partition-added"
    | "partition-removed"
    | "partition-changed"
    | "filesystem-changed";
  /** The partition number concerned, when one is. */
  partition?: number;
  /** Where it is in the newer layout (or the older, for a removal): the entry's guest offset. */
  offset?: number;
  /** Human-readable before → after. */
  before: string;
  after: string;
}

const describePartition = (p: Partition) =>
  `${p.start}+${p.length} type ${p.type}${p.uuid === undefined ? "" : ` uuid ${p.uuid}`}${p.name === undefined ? "" : ` name ${JSON.stringify(p.name)}`}`;

const describeFs = (p: Partition) => {
  const fs = p.filesystem;
  return fs === null
    ? "none"
    : `${fs.type} uuid ${fs.uuid ?? "-"} label ${fs.label === null ? "-" : JSON.stringify(fs.label)}`;
};

/**
 * What differs between `before` and `after`: the scheme, the table id,
 * partitions added, removed or moved/retyped (matched by number), and the
 * signature inside each (type, UUID, label).
 *
 * @example
 * ```ts
 * compareLayouts(await readVolumes(snapshotDisk), await readVolumes(activeDisk));
 * // [{ kind: "partition-changed", partition: 1, before: "1048576+…", after: "…" }]
 * ```
 */
export function compareLayouts(before: VolumeLayout, after: VolumeLayout): LayoutChange[] {
  const out: LayoutChange[] = [];
  if (before.scheme !== after.scheme)
    out.push({ kind: "scheme", before: before.scheme, after: after.scheme });
  else if (before.id !== after.id)
    out.push({ kind: "table-id", before: before.id ?? "none", after: after.id ?? "none" });
  const byNumber = (l: VolumeLayout) => new Map(l.partitions.map((p) => [p.number, p]));
  const a = byNumber(before);
  const b = byNumber(after);
  for (const [n, p] of a)
    if (!b.has(n))
      out.push({
        kind: "partition-removed",
        partition: n,
        offset: p.entryOffset,
        before: describePartition(p),
        after: "none",
      });
  for (const [n, q] of b) {
    const p = a.get(n);
    if (p === undefined) {
      out.push({
        kind: "partition-added",
        partition: n,
        offset: q.entryOffset,
        before: "none",
        after: describePartition(q),
      });
      continue;
    }
    if (describePartition(p) !== describePartition(q))
      out.push({
        kind: "partition-changed",
        partition: n,
        offset: q.entryOffset,
        before: describePartition(p),
        after: describePartition(q),
      });
    else if (describeFs(p) !== describeFs(q))
      out.push({
        kind: "filesystem-changed",
        partition: n,
        offset: q.start,
        before: describeFs(p),
        after: describeFs(q),
      });
  }
  {
    const fa = before.filesystem;
    const fb = after.filesystem;
    const d = (f: typeof fa) =>
      f === null ? "none" : `${f.type} uuid ${f.uuid ?? "-"} label ${f.label ?? "-"}`;
    if (d(fa) !== d(fb))
      out.push({ kind: "filesystem-changed", offset: 0, before: d(fa), after: d(fb) });
  }
  return out;
}

/** One boot code region whose bytes differ between two layouts. */
export interface BootCodeChange {
  what: string;
  /** `null` for the MBR, else the partition number. */
  partition: number | null;
  offset: number;
  length: number;
  before: string;
  after: string;
}

/**
 * Boot code that differs: the MBR code area, and each partition's volume
 * boot record where both layouts have the partition at the same place with
 * the same kind of boot code.
 */
export function compareBootCode(before: VolumeLayout, after: VolumeLayout): BootCodeChange[] {
  const out: BootCodeChange[] = [];
  const add = (partition: number | null, x: BootCode, y: BootCode) => {
    if (x.sha256 !== y.sha256)
      out.push({
        what: y.what,
        partition,
        offset: y.offset,
        length: y.length,
        before: x.sha256,
        after: y.sha256,
      });
  };
  if (before.mbr !== null && after.mbr !== null) add(null, before.mbr.bootCode, after.mbr.bootCode);
  for (const q of after.partitions) {
    const p = before.partitions.find((x) => x.start === q.start);
    if (
      p?.bootRecord === undefined ||
      q.bootRecord === undefined ||
      p.bootRecord.what !== q.bootRecord.what
    )
      continue;
    add(q.number, p.bootRecord, q.bootRecord);
  }
  return out;
}
