import { LruCache } from "./lru-cache.js";

/** Evicted tables kept for reuse (a walk needs one new table at a time). */
const MAX_SPARE = 4;

/**
 * The L2 tables one or more layers of an image keep in memory, by host
 * offset. With `recycle`, an evicted table's buffer is reused for the next
 * table read: a metadata walk over hundreds of snapshots reads a fresh table
 * per snapshot, and fresh memory (page faults, collections) costs several
 * times the read. Only for layers whose every use of a table ends before
 * the next table is read (metadata views: no guest data is read through
 * them), so that no one still holds an evicted table's bytes.
 */
export class TableCache {
  private readonly tables: LruCache<number, DataView>;
  private readonly spare: Uint8Array[] = [];
  /** Tables evicted so far: whoever keeps a table's bytes across reads checks it has not moved. */
  evictions = 0;

  constructor(
    capacity: number,
    private readonly recycle: boolean,
  ) {
    this.tables = new LruCache(Math.max(1, capacity));
  }

  get(offset: number): DataView | undefined {
    return this.tables.get(offset);
  }

  has(offset: number): boolean {
    return this.tables.has(offset);
  }

  set(offset: number, table: DataView): void {
    const evicted = this.tables.set(offset, table);
    if (evicted === undefined) return;
    this.evictions++;
    if (this.recycle && this.spare.length < MAX_SPARE)
      this.spare.push(new Uint8Array(evicted.buffer, evicted.byteOffset, evicted.byteLength));
  }

  /** A buffer of `length` bytes an evicted table no longer needs, when recycling; else `undefined`. */
  reusable(length: number): Uint8Array | undefined {
    const i = this.spare.findIndex((b) => b.length === length);
    if (i < 0) return undefined;
    return this.spare.splice(i, 1)[0];
  }
}
