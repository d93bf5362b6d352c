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
  /** The current table's entries on both sides (`null`: not loaded yet, or not comparable). */
  private entries: EntryPair | null = null;

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
      this.entries = null;
    }
    if (this.atA < 0 || this.atB < 0) return pos;
    const tableEnd = Math.min((table + 1) * this.span, this.limit);
    if (this.atA === this.atB) return tableEnd;
    // Different tables: compare their entries once both are loaded (the walk loads them).
    if (this.atA === 0 || this.atB === 0) return pos;
    this.entries ??= this.pairAt(pos);
    const pair = this.entries;
    if (pair === null) return pos;
    const tableStart = table * this.span;
    const first = Math.floor((pos - tableStart) / pair.entrySpan);
    const k = pair.firstDifferent(first);
    return Math.max(pos, Math.min(tableStart + k * pair.entrySpan, tableEnd));
  }

  /**
   * Drops the entries held: called after the walk reads a table, which may
   * have reused an evicted table's buffer (metadata views recycle them).
   */
  forget(): void {
    this.entries = null;
  }

  /** Both sides' entries of the table at `pos`, when both are loaded and alike in shape. */
  private pairAt(pos: number): EntryPair | null {
    const a = this.ta.mappingEntriesSync?.(pos);
    const b = this.tb.mappingEntriesSync?.(pos);
    if (a === undefined || b === undefined || a.entrySize !== b.entrySize) return null;
    const count = Math.min(a.bytes.length, b.bytes.length) / a.entrySize;
    const entrySpan = this.span / count;
    if (!Number.isInteger(count) || !Number.isInteger(entrySpan)) return null;
    return new EntryPair(a.bytes, b.bytes, count, a.entrySize, entrySpan);
  }
}

/** Two tables' entries, compared as 32-bit words when aligned (views made once per table). */
class EntryPair {
  private readonly wordsA: Int32Array | null;
  private readonly wordsB: Int32Array | null;

  constructor(
    private readonly a: Uint8Array,
    private readonly b: Uint8Array,
    private readonly count: number,
    private readonly entrySize: number,
    readonly entrySpan: number,
  ) {
    const aligned = a.byteOffset % 4 === 0 && b.byteOffset % 4 === 0;
    const words = (count * entrySize) >> 2;
    this.wordsA = aligned ? new Int32Array(a.buffer, a.byteOffset, words) : null;
    this.wordsB = aligned ? new Int32Array(b.buffer, b.byteOffset, words) : null;
  }

  /** Index of the first entry from `from` whose bytes differ; the entry count when none does. */
  firstDifferent(from: number): number {
    const wa = this.wordsA;
    const wb = this.wordsB;
    if (wa !== null && wb !== null) {
      const perEntry = this.entrySize >> 2;
      const end = wa.length;
      for (let w = from * perEntry; w < end; w++) {
        if (wa[w] !== wb[w]) return Math.floor(w / perEntry);
      }
      return this.count;
    }
    const end = this.count * this.entrySize;
    for (let i = from * this.entrySize; i < end; i++) {
      if (this.a[i] !== this.b[i]) return Math.floor(i / this.entrySize);
    }
    return this.count;
  }
}
