/**
 * Attribution of guest extents (a diff's changed ranges, say) to the
 * partitions and filesystems they fall in.
 */
import type { Partition, VolumeLayout } from "./layout.js";

/** A guest byte range. */
export interface Extent {
  start: number;
  length: number;
}

/** Extents and bytes that fall in one partition (an extent across two counts in both). */
export interface PartitionShare {
  number: number;
  kind: Partition["kind"];
  start: number;
  length: number;
  type: string;
  filesystem: { type: string; label: string | null; uuid: string | null } | null;
  extents: number;
  bytes: number;
}

export interface Attribution {
  /** Partitions that received extents, in partition-number order. */
  partitions: PartitionShare[];
  /** Bytes in no partition (tables, gaps, past the last partition; an extended partition's own EBR area counts as its own). */
  outside: { extents: number; bytes: number };
  total: { extents: number; bytes: number };
}

/**
 * Attributes `extents` to the partitions they overlap: per partition, how
 * many extents touch it and how many of their bytes lie in it; bytes in no
 * partition are counted as outside. Logical partitions take their bytes
 * before the extended partition that holds them.
 *
 * @example
 * ```ts
 * const a = attributeExtents(layout, [{ start: 1048576, length: 4096 }]);
 * a.partitions[0]; // { number: 1, extents: 1, bytes: 4096, filesystem: { type: "ext4", … }, … }
 * ```
 */
export function attributeExtents(layout: VolumeLayout, extents: Iterable<Extent>): Attribution {
  const leaves = layout.partitions
    .filter((p) => p.kind !== "extended" && p.length > 0)
    .sort((a, b) => a.start - b.start);
  const containers = layout.partitions.filter((p) => p.kind === "extended" && p.length > 0);
  const shares = new Map<number, PartitionShare>();
  const share = (p: Partition): PartitionShare => {
    let s = shares.get(p.number);
    if (s === undefined) {
      const fs = p.filesystem;
      s = {
        number: p.number,
        kind: p.kind,
        start: p.start,
        length: p.length,
        type: p.type,
        filesystem: fs === null ? null : { type: fs.type, label: fs.label, uuid: fs.uuid },
        extents: 0,
        bytes: 0,
      };
      shares.set(p.number, s);
    }
    return s;
  };
  const outside = { extents: 0, bytes: 0 };
  const total = { extents: 0, bytes: 0 };
  for (const e of extents) {
    if (!(e.length > 0)) continue;
    const end = e.start + e.length;
    total.extents++;
    total.bytes += e.length;
    const covered: Array<[number, number]> = [];
    for (const p of leaves) {
      if (p.start >= end) break;
      const from = Math.max(e.start, p.start);
      const to = Math.min(end, p.start + p.length);
      if (to <= from) continue;
      const s = share(p);
      s.extents++;
      s.bytes += to - from;
      covered.push([from, to]);
    }
    for (const c of containers) {
      // The extended partition's own bytes: inside it, outside every logical.
      const from = Math.max(e.start, c.start);
      const to = Math.min(end, c.start + c.length);
      if (to <= from) continue;
      const inContainer = to - from - coveredWithin(covered, from, to);
      if (inContainer <= 0) continue;
      const s = share(c);
      s.extents++;
      s.bytes += inContainer;
      covered.push([from, to]);
    }
    const out = e.length - coveredWithin(covered, e.start, end);
    if (out > 0) {
      outside.extents++;
      outside.bytes += out;
    }
  }
  return { partitions: [...shares.values()].sort((a, b) => a.number - b.number), outside, total };
}

/** Bytes of [from, to) covered by the union of `ranges`. */
function coveredWithin(ranges: Array<[number, number]>, from: number, to: number): number {
  const clipped = ranges
    .map(([a, b]) => [Math.max(a, from), Math.min(b, to)] as [number, number])
    .filter(([a, b]) => b > a)
    .sort((x, y) => x[0] - y[0]);
  let sum = 0;
  let curA = -1;
  let curB = -1;
  for (const [a, b] of clipped) {
    if (a > curB) {
      if (curB > curA) sum += curB - curA;
      curA = a;
      curB = b;
    } else curB = Math.max(curB, b);
  }
  if (curB > curA) sum += curB - curA;
  return sum;
}

/** Bytes as the CLI prints sizes ("3.1 MiB"). */
export function formatBytes(n: number): string {
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} bytes` : `${v.toFixed(1)} ${units[u]}`;
}

/**
 * One line per share, e.g. "12 extents, 3.1 MiB in partition 2 (ext4 `root`)",
 * and "… outside any partition".
 */
export function describeAttribution(a: Attribution): string[] {
  const lines = a.partitions.map((s) => {
    const fs = s.filesystem;
    const what =
      fs === null
        ? s.kind === "extended"
          ? "extended partition tables"
          : "no filesystem"
        : `${fs.type}${fs.label === null ? "" : ` \`${fs.label}\``}`;
    return `${s.extents} extent${s.extents === 1 ? "" : "s"}, ${formatBytes(s.bytes)} in partition ${s.number} (${what})`;
  });
  if (a.outside.bytes > 0)
    lines.push(
      `${a.outside.extents} extent${a.outside.extents === 1 ? "" : "s"}, ${formatBytes(a.outside.bytes)} outside any partition`,
    );
  return lines;
}
