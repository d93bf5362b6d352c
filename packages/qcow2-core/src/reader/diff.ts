import { Qcow2Error } from "../errors.js";
import {
  ChainCursor,
  type DiffStorage,
  describeStorage,
  type Resolved,
  storageContinues,
} from "./chain-cursor.js";
import type { Layer, LayerStorage } from "./layer.js";
import { SectorComparer } from "./sector-compare.js";
import type { DiskView } from "./state.js";

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
  const a = new ChainCursor(from, size);
  const b = new ChainCursor(to, size);
  const merger = new Merger(stats);
  const shared = sharedTables(from, to);
  let reported = 0;
  const progress = (at: number) => {
    if (options.onProgress !== undefined && at - reported >= PROGRESS_STEP) {
      reported = at;
      options.onProgress(at, size);
    }
  };
  const compare = metadataOnly
    ? null
    : new SectorComparer(a, b, chunk, granularity, stats, progress);
  let lastTable = -1;
  // End of what has been compared (or reported) so far, on the sector grid.
  let covered = 0;
  let pos = 0;
  while (pos < size) {
    if (shared !== null) {
      const table = Math.floor(pos / shared.span);
      if (table !== lastTable) {
        lastTable = table;
        const skip = shared.skipTo(pos, table);
        if (skip > pos) {
          pos = skip;
          continue;
        }
      }
    }
    const ra = a.atSync(pos) ?? (await a.at(pos));
    const rb = b.atSync(pos) ?? (await b.at(pos));
    const end = Math.min(ra.end, rb.end);
    if (!sameBytes(ra, rb, pos)) {
      stats.candidateBytes += end - pos;
      // Whole sectors: a sector that straddles a mapping boundary (raw files of odd sizes) is compared whole.
      const gridStart = Math.max(Math.floor(pos / granularity) * granularity, covered);
      const gridEnd = Math.min(Math.ceil(end / granularity) * granularity, size);
      if (gridStart < gridEnd) {
        covered = gridEnd;
        if (compare === null) {
          const done = merger.push(gridStart, gridEnd - gridStart, ra, rb);
          if (done !== null) yield done;
        } else {
          const known = gridStart >= pos && gridEnd <= end;
          for await (const [start, length] of compare.run(gridStart, gridEnd, ra, rb, known)) {
            const done = merger.push(start, length, ra, rb);
            if (done !== null) yield done;
          }
        }
      }
    }
    pos = end;
    progress(pos);
  }
  const last = merger.flush();
  if (last !== null) yield last;
  options.onProgress?.(size, size);
  return stats;
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

/** Same host bytes (or zeros on both sides) for the range from `pos`: unchanged without a read. */
function sameBytes(a: Resolved, b: Resolved, pos: number): boolean {
  if (a.zero && b.zero) return true;
  if (a.kind !== b.kind || a.fileId === undefined || a.fileId !== b.fileId) return false;
  const sa = a.storage as LayerStorage;
  const sb = b.storage as LayerStorage;
  if (Boolean(sa.encrypted) !== Boolean(sb.encrypted)) return false;
  if (a.kind === "data")
    return (sa.offset as number) + (pos - a.start) === (sb.offset as number) + (pos - b.start);
  return (
    sa.offset === sb.offset &&
    sa.compressedLength === sb.compressedLength &&
    (sa.inCluster as number) + (pos - a.start) === (sb.inCluster as number) + (pos - b.start)
  );
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

/**
 * When both tops are views of one image file over identical chains (a
 * snapshot and the active disk, two snapshots), a guest span whose L2 table
 * is the same host table on both sides maps identically: skipped unread.
 */
function sharedTables(
  from: DiskView,
  to: DiskView,
): { span: number; skipTo(pos: number, table: number): number } | null {
  const ta = from.layers[0];
  const tb = to.layers[0];
  if (
    ta === undefined ||
    tb === undefined ||
    ta.identity.file !== tb.identity.file ||
    ta.mappingTableAt === undefined ||
    tb.mappingTableAt === undefined ||
    ta.mappingTableSpan === undefined ||
    ta.mappingTableSpan !== tb.mappingTableSpan ||
    from.layers.length !== to.layers.length
  )
    return null;
  for (let i = 1; i < from.layers.length; i++) {
    const x = (from.layers[i] as Layer).identity;
    const y = (to.layers[i] as Layer).identity;
    if (x.file !== y.file || x.view !== y.view) return null;
  }
  const span = ta.mappingTableSpan;
  const limit = Math.min(from.virtualSize, to.virtualSize, ta.virtualSize, tb.virtualSize);
  return {
    span,
    skipTo(pos, table) {
      const at = (ta.mappingTableAt as (o: number) => number)(pos);
      if (at < 0 || at !== (tb.mappingTableAt as (o: number) => number)(pos)) return pos;
      return Math.max(pos, Math.min((table + 1) * span, limit));
    },
  };
}
