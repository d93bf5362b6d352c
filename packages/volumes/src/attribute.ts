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
  const attributor = new ExtentAttributor(layout);
  for (const e of extents) attributor.add(e);
  return attributor.result();
}

/**
 * {@link attributeExtents} one extent at a time, for extents that arrive as a
 * stream (a diff of a large disk): memory stays that of the partition list,
 * and each extent costs a binary search plus the partitions it touches.
 *
 * @example
 * ```ts
 * const attributor = new ExtentAttributor(layout);
 * for await (const e of diffExtents(from, to)) attributor.add(e);
 * describeAttribution(attributor.result());
 * ```
 */
export class ExtentAttributor {
  private readonly leaves: Partition[];
  /** `maxEnd[i]`: the furthest end of `leaves[0..i]`, so a search can stop where no earlier leaf reaches. */
  private readonly maxEnd: number[];
  private readonly containers: Partition[];
  private readonly shares = new Map<number, PartitionShare>();
  private readonly outside = { extents: 0, bytes: 0 };
  private readonly total = { extents: 0, bytes: 0 };

  constructor(layout: VolumeLayout) {
    this.leaves = layout.partitions
      .filter((p) => p.kind !== "extended" && p.length > 0)
      .sort((a, b) => a.start - b.start);
    let reach = 0;
    this.maxEnd = this.leaves.map((p) => {
      reach = Math.max(reach, p.start + p.length);
      return reach;
    });
    this.containers = layout.partitions.filter((p) => p.kind === "extended" && p.length > 0);
  }

  /** Counts one guest extent. */
  add(e: Extent): void {
    if (!(e.length > 0)) return;
    const end = e.start + e.length;
    this.total.extents++;
    this.total.bytes += e.length;
    const covered: Array<[number, number]> = [];
    // Leaves that start before the extent's end, walked back while any of them can still reach it.
    let lo = 0;
    let hi = this.leaves.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.leaves[mid] as Partition).start < end) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo - 1; i >= 0 && (this.maxEnd[i] as number) > e.start; i--) {
      const p = this.leaves[i] as Partition;
      const from = Math.max(e.start, p.start);
      const to = Math.min(end, p.start + p.length);
      if (to <= from) continue;
      const s = this.share(p);
      s.extents++;
      s.bytes += to - from;
      covered.push([from, to]);
    }
    for (const c of this.containers) {
      // The extended partition's own bytes: inside it, outside every logical.
      const from = Math.max(e.start, c.start);
      const to = Math.min(end, c.start + c.length);
      if (to <= from) continue;
      const inContainer = to - from - coveredWithin(covered, from, to);
      if (inContainer <= 0) continue;
      const s = this.share(c);
      s.extents++;
      s.bytes += inContainer;
      covered.push([from, to]);
    }
    const out = e.length - coveredWithin(covered, e.start, end);
    if (out > 0) {
      this.outside.extents++;
      this.outside.bytes += out;
    }
  }

  /** The attribution of every extent added so far. */
  result(): Attribution {
    return {
      partitions: [...this.shares.values()]
        .map((s) => ({ ...s, filesystem: s.filesystem === null ? null : { ...s.filesystem } }))
        .sort((a, b) => a.number - b.number),
      outside: { ...this.outside },
      total: { ...this.total },
    };
  }

  private share(p: Partition): PartitionShare {
    let s = this.shares.get(p.number);
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
      this.shares.set(p.number, s);
    }
    return s;
  }
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
