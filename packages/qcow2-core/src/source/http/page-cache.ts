/**
 * The unit the remote cache keeps: 4 KiB, the smallest cluster size whose
 * tables a check reads in bulk (a 4 KiB-cluster image's L2 tables), so that
 * a table read never drags its neighbours along.
 */
export const PAGE = 4096;

/**
 * Least-recently-used pages of a remote object, bounded in bytes. Each page
 * is its own copy, so a cached page never keeps a larger response alive.
 */
export class PageCache {
  private readonly pages = new Map<number, Uint8Array>();
  private readonly capacity: number;

  constructor(capacityBytes: number) {
    this.capacity = Math.max(0, Math.floor(capacityBytes / PAGE));
  }

  get(page: number): Uint8Array | undefined {
    const bytes = this.pages.get(page);
    if (bytes !== undefined) {
      // Re-inserted: Map order is recency order.
      this.pages.delete(page);
      this.pages.set(page, bytes);
    }
    return bytes;
  }

  has(page: number): boolean {
    return this.pages.has(page);
  }

  /** Stores a copy of `bytes` (one page, shorter only at the end of the object). */
  set(page: number, bytes: Uint8Array): void {
    if (this.capacity === 0) return;
    this.pages.delete(page);
    this.pages.set(page, bytes.slice());
    while (this.pages.size > this.capacity) {
      const oldest = this.pages.keys().next();
      if (oldest.done) break;
      this.pages.delete(oldest.value);
    }
  }

  clear(): void {
    this.pages.clear();
  }

  get size(): number {
    return this.pages.size;
  }
}
