import { isQcow2Error } from "../errors.js";
import {
  compressedDescriptor,
  isCompressed,
  nextNonZero,
  offsetField,
} from "../format/entry-words.js";
import {
  DATA,
  hostUsable,
  type L2Geometry,
  standardKind,
  UNALLOCATED,
  ZERO,
} from "./l2-storage.js";
import type { Layer } from "./layer.js";
import type { MappingEntries } from "./shared-tables.js";
import type { DiskView } from "./state.js";

const COMPRESSED = 3;

/** What a metadata-only diff summary counts (see `diffSummary`). */
export interface TableDiffSummary {
  extents: number;
  changedBytes: number;
  /** The first extent, coalesced as the diff coalesces it. */
  first: { start: number; length: number } | null;
}

/** One side's entry, decoded: kind, host offset (data, compressed), compressed length. */
export class Entry {
  kind = UNALLOCATED;
  offset = 0;
  length = 0;

  /** Whether the guest cluster after one stored as `this` continues its extent when stored as `next`. */
  continuedBy(next: Entry, clusterSize: number): boolean {
    if (this.kind !== next.kind) return false;
    if (this.kind === DATA) return this.offset + clusterSize === next.offset;
    if (this.kind === COMPRESSED) return this.offset === next.offset && this.length === next.length;
    return true;
  }

  /** Same host bytes, or zeros on both sides: unchanged without a read. */
  sameBytesAs(other: Entry): boolean {
    if (this.kind <= ZERO && other.kind <= ZERO) return true;
    if (this.kind !== other.kind) return false;
    if (this.kind === DATA) return this.offset === other.offset;
    return this.offset === other.offset && this.length === other.length;
  }

  copy(): Entry {
    const e = new Entry();
    e.set(this);
    return e;
  }

  set(other: Entry): void {
    this.kind = other.kind;
    this.offset = other.offset;
    this.length = other.length;
  }
}

/**
 * The changed clusters of one table pair, coalesced within the table: how
 * many runs and bytes, where the first run starts and how long it is, where
 * the last one ends, and how both sides store the first and the last changed
 * cluster (to coalesce with the tables before and after). Immutable: kept
 * for table pairs that recur.
 */
export interface TableRuns {
  runs: number;
  bytes: number;
  firstStart: number;
  firstLength: number;
  lastEnd: number;
  headA: Entry;
  headB: Entry;
  tailA: Entry;
  tailB: Entry;
}

/** Table pairs one {@link TableMemo} keeps (a few hundred bytes each). */
const MEMO_PAIRS = 1 << 18;

/**
 * Table pairs already compared, by both tables' host offsets and the guest
 * range they map: the snapshots of one image share most of their tables, so
 * summarising each against the active disk meets the same pairs again.
 */
export class TableMemo {
  private readonly pairs = new Map<string, TableRuns>();

  get(key: string): TableRuns | undefined {
    return this.pairs.get(key);
  }

  set(key: string, runs: TableRuns): void {
    if (this.pairs.size < MEMO_PAIRS) this.pairs.set(key, runs);
  }
}

/**
 * The metadata-only diff summary of two views of one QCOW2 file (a snapshot
 * and the active disk, two snapshots), computed entry by entry on the raw L2
 * tables: tables both sides share are skipped, entries whose words match are
 * skipped in bulk, and each differing pair is decoded in place, with no
 * object per extent. With `memo`, a table pair met before is not read or
 * compared again. The audit summarises every snapshot this way, where a
 * long-lived image's snapshots differ from the active disk in thousands of
 * scattered clusters each.
 *
 * `null` when the shortcut does not apply, and the caller walks the views
 * instead: a backing chain below, an external data file, extended L2
 * entries, views of different sizes, or an entry the reader would refuse (a
 * misaligned or out-of-range host offset), so that the walk reports it as it
 * always does. Its answer equals the walk's (the core suites compare them).
 */
export async function tableDiffSummary(
  from: DiskView,
  to: DiskView,
  memo?: TableMemo,
): Promise<TableDiffSummary | null> {
  const a = from.layers[0];
  const b = to.layers[0];
  const size = from.virtualSize;
  if (
    a === undefined ||
    b === undefined ||
    from.layers.length !== 1 ||
    to.layers.length !== 1 ||
    a.identity.file !== b.identity.file ||
    to.virtualSize !== size ||
    a.virtualSize !== size ||
    b.virtualSize !== size
  )
    return null;
  const g = plainGeometry(a);
  const span = a.mappingTableSpan;
  if (g === null || plainGeometry(b) === null || span === undefined) return null;
  if (b.l2Geometry?.clusterSize !== g.clusterSize || b.mappingTableSpan !== span) return null;
  const comparer = new TableComparer(g);
  const summary = new Summary(g.clusterSize);
  try {
    for (let start = 0; start < size; start += span) {
      const atA = (a.mappingTableAt as (o: number) => number)(start);
      const atB = (b.mappingTableAt as (o: number) => number)(start);
      if (atA === atB) continue;
      if (atA < 0 || atB < 0) return null;
      const length = Math.min(span, size - start);
      const key = `${atA}:${atB}:${start}:${length}`;
      let runs = memo?.get(key);
      if (runs === undefined) {
        const pair = await loadPair(a, b, start, comparer);
        const compared = pair === null ? null : comparer.compare(pair[0], pair[1], start, length);
        if (compared === null) return null;
        runs = compared;
        memo?.set(key, runs);
      }
      summary.add(runs);
    }
  } catch (e) {
    // The walk meets the same table and reports it its own way.
    if (isQcow2Error(e)) return null;
    throw e;
  }
  return summary.result();
}

/** The layer's entry geometry when it is one this shortcut decodes (standard entries, no data file). */
function plainGeometry(layer: Layer): L2Geometry | null {
  const g = layer.l2Geometry;
  if (
    g === undefined ||
    g.extendedL2 ||
    g.dataFile ||
    layer.mappingEntries === undefined ||
    layer.mappingEntriesSync === undefined ||
    layer.mappingTableAt === undefined
  )
    return null;
  return g;
}

/**
 * Both sides' table bytes at `start` (`zeros` for a side without a table),
 * taken once both are read: reading the second may recycle a buffer.
 */
async function loadPair(
  a: Layer,
  b: Layer,
  start: number,
  zeros: { readonly zeros: Uint8Array },
): Promise<[Uint8Array, Uint8Array] | null> {
  await (a.mappingEntries as (o: number) => Promise<MappingEntries | undefined>)(start);
  await (b.mappingEntries as (o: number) => Promise<MappingEntries | undefined>)(start);
  const ta = entriesOrZeros(a, start, zeros);
  const tb = entriesOrZeros(b, start, zeros);
  return ta === undefined || tb === undefined ? null : [ta, tb];
}

function entriesOrZeros(
  layer: Layer,
  start: number,
  zeros: { readonly zeros: Uint8Array },
): Uint8Array | undefined {
  if ((layer.mappingTableAt as (o: number) => number)(start) === 0) return zeros.zeros;
  const e = (layer.mappingEntriesSync as (o: number) => MappingEntries | undefined)(start);
  return e === undefined || e.entrySize !== 8 ? undefined : e.bytes;
}

/**
 * The entries of `bytes` (8 bytes each, the first `entries`) that are not
 * zero, ascending; `undefined` when more than a quarter are (a dense table
 * compares faster entry by entry).
 */
export function sparseEntries(bytes: Uint8Array, entries: number): Int32Array | undefined {
  if (bytes.byteOffset % 4 !== 0) return undefined;
  const words = new Int32Array(bytes.buffer, bytes.byteOffset, entries * 2);
  const found: number[] = [];
  for (
    let j = nextNonZero(words, 0, entries, 2);
    j < entries;
    j = nextNonZero(words, j + 1, entries, 2)
  ) {
    found.push(j);
    if (found.length > entries / 4) return undefined;
  }
  return Int32Array.from(found);
}

/** Decodes the standard L2 entry at byte `at` into `out`; false where the reader refuses it. */
export function decodeEntry(view: DataView, at: number, g: L2Geometry, out: Entry): boolean {
  const hi = view.getUint32(at);
  const lo = view.getUint32(at + 4);
  if (isCompressed(hi)) {
    const d = compressedDescriptor(hi, lo, g.clusterBits);
    if (d.hostOffset > Number.MAX_SAFE_INTEGER) return false;
    out.kind = COMPRESSED;
    out.offset = d.hostOffset;
    out.length = d.length;
    return true;
  }
  const kind = standardKind(hi, lo, g);
  out.kind = kind;
  out.offset = 0;
  out.length = 0;
  if (kind === UNALLOCATED) return true;
  const host = offsetField(hi, lo);
  out.offset = host;
  // A zero cluster without a host cluster owns none; any other host offset must be usable.
  return (kind === ZERO && host === 0) || hostUsable(host, g.clusterSize);
}

/** Compares table pairs entry by entry into {@link TableRuns}. */
export class TableComparer {
  private zeroTable: Uint8Array | undefined;
  // The table being compared: the guest range it maps, its runs so far, the first and the
  // last changed cluster on each side.
  private start = 0;
  private end = 0;
  private headA: Entry | null = null;
  private headB: Entry | null = null;
  private runs = 0;
  private bytes = 0;
  private firstStart = -1;
  private firstLength = 0;
  private runStart = -1;
  private runEnd = -1;
  private tailA = new Entry();
  private tailB = new Entry();
  // The cluster being decoded.
  private curA = new Entry();
  private curB = new Entry();

  constructor(private readonly g: L2Geometry) {}

  /** The entries of a side without a table (made when first needed: fresh memory is not free). */
  get zeros(): Uint8Array {
    this.zeroTable ??= new Uint8Array(this.g.clusterSize);
    return this.zeroTable;
  }

  /**
   * The changed clusters of the table pair mapping `[start, start + length)`;
   * `null` at an entry the reader would refuse. `nonZeroB` and `nonZeroA`,
   * when known, list each side's entries with a non-zero word (ascending).
   */
  compare(
    bytesA: Uint8Array,
    bytesB: Uint8Array,
    start: number,
    length: number,
    nonZeroB?: Int32Array,
    nonZeroA?: Int32Array,
  ): TableRuns | null {
    const cs = this.g.clusterSize;
    const n = Math.ceil(length / cs);
    const va = new DataView(bytesA.buffer, bytesA.byteOffset, n * 8);
    const vb = new DataView(bytesB.buffer, bytesB.byteOffset, n * 8);
    // Compared as 32-bit words: most words are small integers, which even code not yet
    // optimised compares without allocating (doubles would be boxed, one per load).
    const aligned = bytesA.byteOffset % 4 === 0 && bytesB.byteOffset % 4 === 0;
    const wa = aligned ? new Int32Array(bytesA.buffer, bytesA.byteOffset, n * 2) : null;
    const wb = aligned ? new Int32Array(bytesB.buffer, bytesB.byteOffset, n * 2) : null;
    this.begin(start, length);
    if (wa !== null && wb !== null && nonZeroB !== undefined)
      return this.compareSparse(va, vb, wa, wb, nonZeroB, n, nonZeroA);
    for (let j = 0; j < n; j++) {
      if (wa !== null && wb !== null) {
        // Entries whose words match map identically: skipped without decoding.
        let w = j * 2;
        const last = n * 2;
        while (w < last && wa[w] === wb[w]) w++;
        if (w === last) break;
        j = w >> 1;
      } else if (
        va.getUint32(j * 8) === vb.getUint32(j * 8) &&
        va.getUint32(j * 8 + 4) === vb.getUint32(j * 8 + 4)
      ) {
        continue;
      }
      const g = this.g;
      if (!decodeEntry(va, j * 8, g, this.curA) || !decodeEntry(vb, j * 8, g, this.curB))
        return null;
      if (!this.curA.sameBytesAs(this.curB)) this.add(j, this.curA, this.curB);
    }
    return this.finish();
  }

  /**
   * {@link compare} visiting only the entries that are not zero on one side
   * or the other: side B's given (`nonZeroB`, ascending), side A's given too
   * or found by skipping zero words. A sparse table is mostly zeros on both
   * sides.
   */
  private compareSparse(
    va: DataView,
    vb: DataView,
    wa: Int32Array,
    wb: Int32Array,
    nonZeroB: Int32Array,
    n: number,
    nonZeroA: Int32Array | undefined,
  ): TableRuns | null {
    const g = this.g;
    let ka = 0;
    let ia =
      nonZeroA === undefined
        ? nextNonZero(wa, 0, n, 2)
        : nonZeroA.length > 0
          ? Math.min(nonZeroA[0] as number, n)
          : n;
    let k = 0;
    let ib = nonZeroB.length > 0 ? (nonZeroB[0] as number) : n;
    while (ia < n || ib < n) {
      const j = Math.min(ia, ib);
      if (wa[2 * j] !== wb[2 * j] || wa[2 * j + 1] !== wb[2 * j + 1]) {
        if (!decodeEntry(va, j * 8, g, this.curA) || !decodeEntry(vb, j * 8, g, this.curB))
          return null;
        if (!this.curA.sameBytesAs(this.curB)) this.add(j, this.curA, this.curB);
      }
      if (ia === j) {
        if (nonZeroA === undefined) ia = nextNonZero(wa, j + 1, n, 2);
        else {
          ka++;
          ia = ka < nonZeroA.length ? Math.min(nonZeroA[ka] as number, n) : n;
        }
      }
      if (ib === j) {
        k++;
        ib = k < nonZeroB.length ? (nonZeroB[k] as number) : n;
        if (ib > n) ib = n;
      }
    }
    return this.finish();
  }

  /** Starts the runs of the table pair mapping `[start, start + length)`. */
  private begin(start: number, length: number): void {
    this.start = start;
    this.end = start + length;
    this.runs = 0;
    this.bytes = 0;
    this.firstStart = -1;
    this.runStart = -1;
    this.runEnd = -1;
    this.headA = null;
    this.headB = null;
  }

  /**
   * Adds changed entry `j` (in order), stored as `a` and `b` on the two
   * sides: the cluster, or the disk's last, shorter one. Extends the run
   * when it continues it.
   */
  private add(j: number, a: Entry, b: Entry): void {
    const cs = this.g.clusterSize;
    const at = this.start + j * cs;
    const length = Math.min(cs, this.end - at);
    this.headA ??= a.copy();
    this.headB ??= b.copy();
    this.bytes += length;
    if (!(this.runEnd === at && this.tailA.continuedBy(a, cs) && this.tailB.continuedBy(b, cs))) {
      this.closeRun();
      this.runStart = at;
    }
    this.runEnd = at + length;
    this.tailA.set(a);
    this.tailB.set(b);
  }

  /** The runs of the table pair begun. */
  private finish(): TableRuns {
    if (this.headA === null || this.headB === null) return NO_RUNS;
    this.closeRun();
    return {
      runs: this.runs,
      bytes: this.bytes,
      firstStart: this.firstStart,
      firstLength: this.firstLength,
      lastEnd: this.runEnd,
      headA: this.headA,
      headB: this.headB,
      tailA: this.tailA.copy(),
      tailB: this.tailB.copy(),
    };
  }

  /** Counts the run just ended (the first one is remembered). */
  private closeRun(): void {
    if (this.runStart < 0) return;
    this.runs++;
    if (this.firstStart < 0) {
      this.firstStart = this.runStart;
      this.firstLength = this.runEnd - this.runStart;
    }
  }
}

const NO_RUNS: TableRuns = {
  runs: 0,
  bytes: 0,
  firstStart: -1,
  firstLength: 0,
  lastEnd: -1,
  headA: new Entry(),
  headB: new Entry(),
  tailA: new Entry(),
  tailB: new Entry(),
};

/** Folds table pairs' runs, in guest order, into the diff's totals. */
export class Summary {
  private extents = 0;
  private changedBytes = 0;
  private first: { start: number; length: number } | null = null;
  /** The first extent may still grow (it is the pending one). */
  private firstOpen = false;
  private pendingEnd = -1;
  private tailA: Entry | null = null;
  private tailB: Entry | null = null;

  constructor(private readonly clusterSize: number) {}

  add(t: TableRuns): void {
    if (t.runs === 0) return;
    this.changedBytes += t.bytes;
    const merges =
      this.pendingEnd === t.firstStart &&
      (this.tailA as Entry).continuedBy(t.headA, this.clusterSize) &&
      (this.tailB as Entry).continuedBy(t.headB, this.clusterSize);
    if (merges) {
      // The pending extent goes on into this table's first run.
      this.extents += t.runs - 1;
      if (this.firstOpen && this.first !== null) this.first.length += t.firstLength;
    } else {
      this.extents += t.runs;
      if (this.first === null) {
        this.first = { start: t.firstStart, length: t.firstLength };
        this.firstOpen = true;
      } else this.firstOpen = false;
    }
    // A second run in this table closes the first extent.
    if (t.runs > 1) this.firstOpen = false;
    this.pendingEnd = t.lastEnd;
    this.tailA = t.tailA;
    this.tailB = t.tailB;
  }

  result(): TableDiffSummary {
    return { extents: this.extents, changedBytes: this.changedBytes, first: this.first };
  }
}
