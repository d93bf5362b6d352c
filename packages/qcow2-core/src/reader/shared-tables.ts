import type { Layer } from "./layer.js";
import type { DiskView } from "./state.js";

/** The raw entries of one loaded mapping table (see {@link Layer.mappingEntriesSync}). */
export interface MappingEntries {
  bytes: Uint8Array;
  /** Bytes per entry (8, or 16 with extended L2 entries). */
  entrySize: number;
}

/**
 * Where a diff of two views of one image file can jump ahead without
 * resolving anything: a guest span whose L2 table is the same host table on
 * both sides maps identically, and so does every entry whose raw bytes are
 * the same in two different tables (same host offset, same flags, same
 * subcluster bitmap, read through identical chains below). Snapshots of a
 * long-lived image differ from the active disk in a few entries of tables
 * that were copied on write: only those entries are resolved.
 */
export class SharedTables {
  private table = -1;
  private atA = -1;
  private atB = -1;
  private entriesA: MappingEntries | undefined;
  private entriesB: MappingEntries | undefined;

  private constructor(
    private readonly ta: Layer,
    private readonly tb: Layer,
    private readonly span: number,
    /** Guest bytes below which both tops map (beyond it the walk decides). */
    private readonly limit: number,
  ) {}

  /**
   * The skipper for a diff of `from` and `to`, when both tops are views of
   * one image file over identical chains (a snapshot and the active disk,
   * two snapshots); `null` otherwise.
   */
  static of(from: DiskView, to: DiskView): SharedTables | null {
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
    const limit = Math.min(from.virtualSize, to.virtualSize, ta.virtualSize, tb.virtualSize);
    return new SharedTables(ta, tb, ta.mappingTableSpan, limit);
  }

  /** The first guest offset from `pos` whose mapping may differ (`pos` itself when unsure). */
  skipTo(pos: number): number {
    if (pos >= this.limit) return pos;
    const table = Math.floor(pos / this.span);
    if (table !== this.table) {
      this.table = table;
      this.atA = (this.ta.mappingTableAt as (o: number) => number)(pos);
      this.atB = (this.tb.mappingTableAt as (o: number) => number)(pos);
      this.entriesA = undefined;
      this.entriesB = undefined;
    }
    if (this.atA < 0 || this.atB < 0) return pos;
    const tableEnd = Math.min((table + 1) * this.span, this.limit);
    if (this.atA === this.atB) return tableEnd;
    // Different tables: compare their entries once both are loaded (the walk loads them).
    if (this.atA === 0 || this.atB === 0) return pos;
    this.entriesA ??= this.ta.mappingEntriesSync?.(pos);
    this.entriesB ??= this.tb.mappingEntriesSync?.(pos);
    const a = this.entriesA;
    const b = this.entriesB;
    if (a === undefined || b === undefined || a.entrySize !== b.entrySize) return pos;
    const size = a.entrySize;
    const count = Math.min(a.bytes.length, b.bytes.length) / size;
    const entrySpan = this.span / count;
    if (!Number.isInteger(count) || !Number.isInteger(entrySpan)) return pos;
    const tableStart = table * this.span;
    const first = Math.floor((pos - tableStart) / entrySpan);
    const k = firstDifferentEntry(a.bytes, b.bytes, first, count, size);
    return Math.max(pos, Math.min(tableStart + k * entrySpan, tableEnd));
  }
}

/** Index of the first entry from `from` whose bytes differ in `a` and `b`; `count` when none does. */
export function firstDifferentEntry(
  a: Uint8Array,
  b: Uint8Array,
  from: number,
  count: number,
  entrySize: number,
): number {
  const perEntry = entrySize >> 2;
  if (a.byteOffset % 4 === 0 && b.byteOffset % 4 === 0) {
    const wa = new Int32Array(a.buffer, a.byteOffset, count * perEntry);
    const wb = new Int32Array(b.buffer, b.byteOffset, count * perEntry);
    const end = count * perEntry;
    for (let w = from * perEntry; w < end; w++) {
      if (wa[w] !== wb[w]) return Math.floor(w / perEntry);
    }
    return count;
  }
  const end = count * entrySize;
  for (let i = from * entrySize; i < end; i++) {
    if (a[i] !== b[i]) return Math.floor(i / entrySize);
  }
  return count;
}
