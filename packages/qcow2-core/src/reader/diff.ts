import { isQcow2Error, Qcow2Error } from "../errors.js";
import { sourceIdentity } from "../source/identity.js";
import type { GuestRange, Layer, LayerStorage } from "./layer.js";
import { readChain } from "./read-chain.js";
import type { DiskView } from "./state.js";

/** How one side of a diff stores a guest range. */
export interface DiffStorage {
  /**
   * `unallocated`: no layer of the chain stores it (reads as zeros);
   * `zero`: a zero cluster; `data`; `compressed`; `beyond-end`: past the
   * end of this side's (shorter) disk, compared as zeros as
   * `qemu-img compare` does.
   */
  kind: "unallocated" | "zero" | "data" | "compressed" | "beyond-end";
  /** The chain layer that supplies the range (0 = the state's own image). */
  depth?: number;
  /** The file holding the bytes (data; an external data file when the image has one), or the layer's image. */
  file?: string;
  /** data: host offset of the extent's first byte; compressed: of the compressed cluster holding it. */
  offset?: number;
  /** compressed: bytes of the compressed cluster's stream. */
  compressedLength?: number;
  /** The host bytes are ciphertext. */
  encrypted?: boolean;
}

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
  const a = new Side(from, size);
  const b = new Side(to, size);
  const merger = new Merger(stats);
  const shared = sharedTables(from, to);
  let reported = 0;
  const progress = (at: number) => {
    if (options.onProgress !== undefined && at - reported >= PROGRESS_STEP) {
      reported = at;
      options.onProgress(at, size);
    }
  };
  const compare = metadataOnly ? null : new Comparer(a, b, chunk, granularity, stats, progress);
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

/** A guest range and how one state stores it (see {@link describeRanges}). */
export interface StoredRange {
  start: number;
  length: number;
  storage: DiffStorage;
}

/**
 * How `view` stores each of `ranges` (sorted, disjoint): each range is split
 * where the storage changes, and pieces are coalesced as diff extents are.
 * Gives the ranges a dirty bitmap marks the same shape as a diff's.
 *
 * @example
 * ```ts
 * for await (const r of describeRanges(image, bitmapExtents(source, info, dir, bitmap)))
 *   console.log(r.start, r.length, r.storage.kind);
 * ```
 */
export async function* describeRanges(
  view: DiskView,
  ranges: AsyncIterable<GuestRange> | Iterable<GuestRange>,
): AsyncGenerator<StoredRange> {
  const side = new Side(view, view.virtualSize);
  let pending: StoredRange | null = null;
  for await (const r of ranges) {
    const end = Math.min(r.start + r.length, view.virtualSize);
    for (let pos = Math.max(0, r.start); pos < end; ) {
      const at = side.atSync(pos) ?? (await side.at(pos));
      const stop = Math.min(at.end, end);
      const storage = describe(at, pos);
      if (
        pending !== null &&
        pending.start + pending.length === pos &&
        continues(pending.storage, storage, pending.length)
      ) {
        pending.length += stop - pos;
      } else {
        if (pending !== null) yield pending;
        pending = { start: pos, length: stop - pos, storage };
      }
      pos = stop;
    }
  }
  if (pending !== null) yield pending;
}

/** One side's answer for a guest range: which layer supplies it, and how. */
interface Resolved {
  start: number;
  end: number;
  kind: DiffStorage["kind"];
  /** Reads as zeros without a read (zero, unallocated, beyond the end). */
  zero: boolean;
  depth: number;
  layer?: Layer;
  storage?: LayerStorage;
  /** Identity of the file holding data or compressed bytes. */
  fileId?: string;
}

/** Walks one state's chain in guest order, remembering each layer's last answer. */
class Side {
  private current: Resolved | undefined;
  private readonly cache: Array<{ start: number; storage: LayerStorage } | undefined> = [];

  constructor(
    readonly view: DiskView,
    private readonly size: number,
  ) {}

  /** The answer at `pos` when no read is needed (most steps); `undefined` otherwise. */
  atSync(pos: number): Resolved | undefined {
    const c = this.current;
    if (c !== undefined && c.start <= pos && pos < c.end) return c;
    const r = this.resolve(pos, (depth, layer) => this.cached(depth, layer, pos, true));
    if (r !== undefined) this.current = r as Resolved;
    return r as Resolved | undefined;
  }

  async at(pos: number): Promise<Resolved> {
    const known = this.atSync(pos);
    if (known !== undefined) return known;
    // Walk again, waiting for the layers that must read a table.
    const storages: LayerStorage[] = [];
    for (let depth = 0; ; depth++) {
      const layer = this.view.layers[depth] as Layer;
      const storage = this.cached(depth, layer, pos, true) ?? (await this.fetch(depth, layer, pos));
      storages.push(storage);
      const r = this.resolve(pos, (d) => storages[d]);
      if (r !== undefined) {
        this.current = r;
        return r;
      }
    }
  }

  /**
   * Walks the chain from the top with `storageOf` answering for each layer;
   * `undefined` as soon as one cannot answer.
   */
  private resolve(
    pos: number,
    storageOf: (depth: number, layer: Layer) => LayerStorage | undefined,
  ): Resolved | undefined {
    const layers = this.view.layers;
    if (pos >= this.view.virtualSize)
      return { start: pos, end: this.size, kind: "beyond-end", zero: true, depth: -1 };
    let limit = this.view.virtualSize;
    for (let depth = 0; ; depth++) {
      const layer = layers[depth] as Layer;
      const storage = storageOf(depth, layer);
      if (storage === undefined) return undefined;
      const end = Math.min(limit, pos + storage.length);
      if (storage.kind !== "unallocated") {
        const r: Resolved = {
          start: pos,
          end,
          kind: storage.kind,
          zero: storage.kind === "zero",
          depth,
          layer,
          storage,
        };
        if (storage.source !== undefined) r.fileId = sourceIdentity(storage.source);
        return r;
      }
      const below = layers[depth + 1];
      if (below === undefined || pos >= below.virtualSize)
        return { start: pos, end, kind: "unallocated", zero: true, depth: -1 };
      limit = Math.min(end, below.virtualSize);
    }
  }

  /**
   * The layer's storage from `pos` without a read: from its last answer, or
   * asked anew as far as the layer reaches and kept (the layers above may
   * need it in small pieces; asking per piece would rescan the same entries).
   */
  private cached(depth: number, layer: Layer, pos: number, ask: boolean): LayerStorage | undefined {
    const c = this.cache[depth];
    if (c !== undefined && c.start <= pos && pos < c.start + c.storage.length)
      return advance(c.storage, pos - c.start);
    if (!ask || layer.storageSync === undefined) return undefined;
    const storage = layer.storageSync(pos, layer.virtualSize - pos);
    if (storage !== undefined) this.cache[depth] = { start: pos, storage };
    return storage;
  }

  private async fetch(depth: number, layer: Layer, pos: number): Promise<LayerStorage> {
    const storage = await layer.storage(pos, layer.virtualSize - pos);
    this.cache[depth] = { start: pos, storage };
    return storage;
  }
}

/** `storage` as seen `delta` bytes further on. */
function advance(storage: LayerStorage, delta: number): LayerStorage {
  if (delta === 0) return storage;
  const out = { ...storage, length: storage.length - delta };
  if (storage.kind === "data") out.offset = (storage.offset as number) + delta;
  else if (storage.kind === "compressed") out.inCluster = (storage.inCluster as number) + delta;
  return out;
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

/** How `r` stores the guest range from `at`, as the diff reports it. */
function describe(r: Resolved, at: number): DiffStorage {
  const out: DiffStorage = { kind: r.kind };
  if (r.layer === undefined) return out;
  out.depth = r.depth;
  const storage = r.storage as LayerStorage;
  out.file = storage.source?.name ?? r.layer.name;
  if (r.kind === "data") out.offset = (storage.offset as number) + (at - r.start);
  if (r.kind === "compressed") {
    out.offset = storage.offset as number;
    out.compressedLength = storage.compressedLength as number;
  }
  if (storage.encrypted) out.encrypted = true;
  return out;
}

/** Coalesces adjacent extents whose storage continues on both sides. */
class Merger {
  private pending: DiffExtent | null = null;

  constructor(private readonly stats: DiffStats) {}

  /** Adds an extent; returns the one it closes, if any. */
  push(start: number, length: number, a: Resolved, b: Resolved): DiffExtent | null {
    const next: DiffExtent = { start, length, from: describe(a, start), to: describe(b, start) };
    this.stats.changedBytes += length;
    const p = this.pending;
    if (
      p !== null &&
      p.start + p.length === start &&
      continues(p.from, next.from, p.length) &&
      continues(p.to, next.to, p.length)
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

function continues(p: DiffStorage, n: DiffStorage, length: number): boolean {
  if (
    p.kind !== n.kind ||
    p.depth !== n.depth ||
    p.file !== n.file ||
    Boolean(p.encrypted) !== Boolean(n.encrypted)
  )
    return false;
  if (p.kind === "data") return (p.offset as number) + length === n.offset;
  if (p.kind === "compressed")
    return p.offset === n.offset && p.compressedLength === n.compressedLength;
  return true;
}

/** Reads both sides of a range and finds the sectors that differ. */
class Comparer {
  private readonly bufA: Uint8Array;
  private readonly bufB: Uint8Array;

  constructor(
    private readonly a: Side,
    private readonly b: Side,
    private readonly chunk: number,
    private readonly granularity: number,
    private readonly stats: DiffStats,
    private readonly progress: (at: number) => void,
  ) {
    this.bufA = new Uint8Array(chunk);
    this.bufB = new Uint8Array(chunk);
  }

  /**
   * The runs of differing sectors in `[start, end)`. `known`: the range lies
   * within one resolved extent of each side, so a side known to read as
   * zeros need not be read.
   */
  async *run(
    start: number,
    end: number,
    ra: Resolved,
    rb: Resolved,
    known: boolean,
  ): AsyncGenerator<[number, number]> {
    const g = this.granularity;
    let runStart = -1;
    for (let at = start; at < end; at += this.chunk) {
      const n = Math.min(this.chunk, end - at);
      const [x, y] = await Promise.all([
        known && ra.zero ? null : this.read(this.a.view, this.bufA, at, n),
        known && rb.zero ? null : this.read(this.b.view, this.bufB, at, n),
      ]);
      for (let k = 0; k < n; k += g) {
        const m = Math.min(g, n - k);
        if (blocksDiffer(x, y, k, m)) {
          if (runStart < 0) runStart = at + k;
        } else if (runStart >= 0) {
          yield [runStart, at + k - runStart];
          runStart = -1;
        }
      }
      this.progress(at + n);
    }
    if (runStart >= 0) yield [runStart, end - runStart];
  }

  private async read(
    view: DiskView,
    buf: Uint8Array,
    offset: number,
    n: number,
  ): Promise<Uint8Array> {
    const out = buf.subarray(0, n);
    const inside = Math.max(0, Math.min(n, view.virtualSize - offset));
    try {
      if (inside > 0) await readChain(view.layers, 0, out.subarray(0, inside), offset);
    } catch (e) {
      const name = (view.layers[0] as Layer).name;
      throw isQcow2Error(e) ? (e as Qcow2Error).withFile(name) : e;
    }
    out.fill(0, inside);
    this.stats.bytesRead += inside;
    return out;
  }
}

/** Whether `[k, k + m)` of `x` and `y` differ (`null`: all zeros). */
function blocksDiffer(x: Uint8Array | null, y: Uint8Array | null, k: number, m: number): boolean {
  if (x === null && y === null) return false;
  if ((k & 3) === 0 && (m & 3) === 0) {
    const wx = x === null ? null : new Uint32Array(x.buffer, x.byteOffset + k, m >> 2);
    const wy = y === null ? null : new Uint32Array(y.buffer, y.byteOffset + k, m >> 2);
    if (wx === null) return !allZero32(wy as Uint32Array);
    if (wy === null) return !allZero32(wx);
    for (let i = 0; i < wx.length; i++) if (wx[i] !== wy[i]) return true;
    return false;
  }
  for (let i = k; i < k + m; i++)
    if ((x === null ? 0 : x[i]) !== (y === null ? 0 : y[i])) return true;
  return false;
}

function allZero32(w: Uint32Array): boolean {
  for (let i = 0; i < w.length; i++) if (w[i] !== 0) return false;
  return true;
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
