import { Qcow2Error } from "../errors.js";
import {
  ChainCursor,
  type DiffStorage,
  describeStorage,
  type Resolved,
  storageContinues,
} from "./chain-cursor.js";
import { DiffWalk } from "./diff-walk.js";
import { SectorComparer } from "./sector-compare.js";
import type { DiskView } from "./state.js";
import { TableMemo, tableDiffSummary } from "./table-diff-summary.js";

export type { DiffStorage } from "./chain-cursor.js";
export { describeRanges, type StoredRange } from "./describe-ranges.js";

/** A guest range that differs between the two states, and how each stores it at `start`. */
export interface DiffExtent {
  start: number;
  length: number;
  from: DiffStorage;
  to: DiffStorage;
}

/** Options for {@link diffExtents}. */
export interface DiffOptions {
  /**
   * Read no guest data: report every range whose mapping differs (a
   * superset of the exact answer, at cluster or subcluster granularity).
   */
  metadataOnly?: boolean;
  /** Sector size of the exact comparison, a power of two from 1 to 1 MiB (default 512). */
  granularity?: number;
  /** Bytes read from each side at once when comparing (default 1 MiB). */
  chunkSize?: number;
  /** Called as the comparison advances (guest bytes done, total), at most every few MiB. */
  onProgress?: (done: number, total: number) => void;
}

/** What a diff did: the totals, known when the walk ends. */
export interface DiffStats {
  /** Guest bytes compared: the larger of the two disks. */
  size: number;
  /** False for a metadata-only diff (its extents are a superset). */
  exact: boolean;
  /** Exact: the sector size compared; metadata-only: the finest mapping unit of either chain. */
  granularity: number;
  extents: number;
  /** Bytes in the extents (metadata-only: an upper bound). */
  changedBytes: number;
  /** Guest bytes whose mappings differed, which an exact diff compares. */
  candidateBytes: number;
  /** Guest bytes read to compare them, both sides together (zeros known from metadata are not read). */
  bytesRead: number;
}

const DEFAULT_CHUNK = 1024 * 1024;
const PROGRESS_STEP = 16 * 1024 * 1024;

/**
 * Streams the guest ranges where `to` differs from `from`, in guest order,
 * coalesced, each with how both sides store it. Metadata first: a range
 * both sides map to the same host bytes (same file, same host offset, same
 * compressed descriptor) or both read as zeros is unchanged and not read;
 * only the rest is read and compared, sector by sector. Beyond the end of
 * the shorter disk the comparison is against zeros. The generator's return
 * value holds the totals.
 *
 * @example
 * ```ts
 * const before = await openImage("disk.qcow2", { snapshot: "before-update" });
 * const now = await openImage("disk.qcow2");
 * for await (const e of diffExtents(before, now)) console.log(e.start, e.length, e.to.kind);
 * ```
 */
export async function* diffExtents(
  from: DiskView,
  to: DiskView,
  options: DiffOptions = {},
): AsyncGenerator<DiffExtent, DiffStats, undefined> {
  const { stats, walk, merger, compare } = startDiff(from, to, options);
  for (;;) {
    const step = walk.next();
    const c = step instanceof Promise ? await step : step;
    if (c === null) break;
    if (compare === null) {
      const done = merger.push(c.start, c.end - c.start, c.a, c.b);
      if (done !== null) yield done;
      continue;
    }
    for await (const [start, length] of compare.run(c.start, c.end, c.a, c.b, c.known)) {
      const done = merger.push(start, length, c.a, c.b);
      if (done !== null) yield done;
    }
  }
  const last = merger.flush();
  if (last !== null) yield last;
  options.onProgress?.(stats.size, stats.size);
  return stats;
}

/**
 * The totals of {@link diffExtents} and its first extent, without streaming
 * the extents. A metadata-only summary of two views of one image file is
 * counted entry by entry on the L2 tables they do not share (the audit
 * summarises every snapshot this way); otherwise it awaits only the table
 * reads, not a promise per extent.
 *
 * @example
 * ```ts
 * const { stats, first } = await diffSummary(before, now, { metadataOnly: true });
 * console.log(stats.extents, stats.changedBytes, first?.start);
 * ```
 */
export async function diffSummary(
  from: DiskView,
  to: DiskView,
  options: DiffOptions = {},
): Promise<{ stats: DiffStats; first: DiffExtent | null }> {
  return summarise(from, to, options);
}

/**
 * {@link diffSummary}, metadata-only, of many states against one (every
 * snapshot against the active disk): an L2 table pair met for one state is
 * not read or compared again for the next.
 *
 * @example
 * ```ts
 * const against = diffSummariesAgainst(active);
 * for (const view of snapshotViews) console.log((await against(view)).stats.changedBytes);
 * ```
 */
export function diffSummariesAgainst(
  to: DiskView,
): (from: DiskView) => Promise<{ stats: DiffStats; first: DiffExtent | null }> {
  const memo = new TableMemo();
  return (from) => summarise(from, to, { metadataOnly: true }, memo);
}

async function summarise(
  from: DiskView,
  to: DiskView,
  options: DiffOptions,
  memo?: TableMemo,
): Promise<{ stats: DiffStats; first: DiffExtent | null }> {
  if (options.metadataOnly === true) {
    const byTables = await tableDiffSummary(from, to, memo);
    if (byTables !== null) {
      const size = Math.max(from.virtualSize, to.virtualSize);
      const stats: DiffStats = {
        size,
        exact: false,
        granularity: diffGranularity(from, to, options),
        extents: byTables.extents,
        changedBytes: byTables.changedBytes,
        candidateBytes: byTables.changedBytes,
        bytesRead: 0,
      };
      const f = byTables.first;
      options.onProgress?.(size, size);
      return {
        stats,
        first: f === null ? null : await describeExtent(from, to, f.start, f.length),
      };
    }
  }
  return walkSummary(from, to, options);
}

/**
 * {@link diffSummary} by walking both views range by range, never entry by
 * entry on the tables: what the table shortcut must equal (the core suites
 * compare them).
 */
export async function walkSummary(
  from: DiskView,
  to: DiskView,
  options: DiffOptions = {},
): Promise<{ stats: DiffStats; first: DiffExtent | null }> {
  let first: DiffExtent | null = null;
  if (options.metadataOnly !== true) {
    const it = diffExtents(from, to, options);
    for (;;) {
      const next = await it.next();
      if (next.done) return { stats: next.value, first };
      first ??= next.value;
    }
  }
  const { stats, walk, merger } = startDiff(from, to, options);
  for (;;) {
    const step = walk.next();
    const c = step instanceof Promise ? await step : step;
    if (c === null) break;
    const done = merger.push(c.start, c.end - c.start, c.a, c.b);
    if (done !== null) first ??= done;
  }
  const last = merger.flush();
  if (last !== null) first ??= last;
  options.onProgress?.(stats.size, stats.size);
  return { stats, first };
}

/** The extent `[start, start + length)` with how each side stores it at `start`. */
async function describeExtent(
  from: DiskView,
  to: DiskView,
  start: number,
  length: number,
): Promise<DiffExtent> {
  const size = Math.max(from.virtualSize, to.virtualSize);
  const a = await new ChainCursor(from, size).at(start);
  const b = await new ChainCursor(to, size).at(start);
  return { start, length, from: describeStorage(a, start), to: describeStorage(b, start) };
}

/** What {@link diffExtents} and {@link diffSummary} start from. */
function startDiff(
  from: DiskView,
  to: DiskView,
  options: DiffOptions,
): { stats: DiffStats; walk: DiffWalk; merger: Merger; compare: SectorComparer | null } {
  const granularity = checkGranularity(options.granularity ?? 512);
  const chunk =
    Math.max(1, Math.floor(Math.min(options.chunkSize ?? DEFAULT_CHUNK, 64 << 20) / granularity)) *
    granularity;
  const size = Math.max(from.virtualSize, to.virtualSize);
  const metadataOnly = options.metadataOnly === true;
  const stats: DiffStats = {
    size,
    exact: !metadataOnly,
    granularity: diffGranularity(from, to, options),
    extents: 0,
    changedBytes: 0,
    candidateBytes: 0,
    bytesRead: 0,
  };
  let reported = 0;
  const progress = (at: number) => {
    if (options.onProgress !== undefined && at - reported >= PROGRESS_STEP) {
      reported = at;
      options.onProgress(at, size);
    }
  };
  const walk = new DiffWalk(from, to, size, granularity, stats, progress);
  const [a, b] = walk.cursors;
  const compare = metadataOnly
    ? null
    : new SectorComparer(a, b, chunk, granularity, stats, progress);
  return { stats, walk, merger: new Merger(stats), compare };
}

/**
 * Runs {@link diffExtents} to the end and collects its extents: for small
 * disks and tests; stream large ones.
 */
export async function diffDisks(
  from: DiskView,
  to: DiskView,
  options: DiffOptions = {},
): Promise<{ extents: DiffExtent[]; stats: DiffStats }> {
  const extents: DiffExtent[] = [];
  const it = diffExtents(from, to, options);
  for (;;) {
    const next = await it.next();
    if (next.done) return { extents, stats: next.value };
    extents.push(next.value);
  }
}

/** Coalesces adjacent extents whose storage continues on both sides. */
class Merger {
  private pending: DiffExtent | null = null;

  constructor(private readonly stats: DiffStats) {}

  /** Adds an extent; returns the one it closes, if any. */
  push(start: number, length: number, a: Resolved, b: Resolved): DiffExtent | null {
    const next: DiffExtent = {
      start,
      length,
      from: describeStorage(a, start),
      to: describeStorage(b, start),
    };
    this.stats.changedBytes += length;
    const p = this.pending;
    if (
      p !== null &&
      p.start + p.length === start &&
      storageContinues(p.from, next.from, p.length) &&
      storageContinues(p.to, next.to, p.length)
    ) {
      p.length += length;
      return null;
    }
    this.pending = next;
    if (p !== null) this.stats.extents++;
    return p;
  }

  flush(): DiffExtent | null {
    const p = this.pending;
    this.pending = null;
    if (p !== null) this.stats.extents++;
    return p;
  }
}

/**
 * The granularity a diff of `from` and `to` reports ({@link DiffStats}):
 * the sector size compared, or for a metadata-only diff the finest unit
 * either chain maps at. Known before the walk (for headers).
 */
export function diffGranularity(from: DiskView, to: DiskView, options: DiffOptions = {}): number {
  if (options.metadataOnly !== true) return checkGranularity(options.granularity ?? 512);
  let g = Number.POSITIVE_INFINITY;
  for (const layer of [...from.layers, ...to.layers]) g = Math.min(g, layer.granularity);
  return Number.isFinite(g) ? g : 512;
}

function checkGranularity(granularity: number): number {
  if (
    !Number.isSafeInteger(granularity) ||
    granularity < 1 ||
    granularity > 1 << 20 ||
    (granularity & (granularity - 1)) !== 0
  ) {
    throw new Qcow2Error(
      "OUT_OF_RANGE",
      `diff granularity ${granularity} is not a power of two from 1 to 1 MiB`,
      { field: "granularity", value: granularity },
    );
  }
  return granularity;
}
