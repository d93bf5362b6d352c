/** A small least-recently-used map with a fixed entry bound. */
export class LruCache<K, V> {
  private readonly map = new Map<K, V>();
  /** The most recently used entry: walks ask for the same table step after step, and it needs no re-ordering. */
  private lastKey: K | undefined;
  private lastValue: V | undefined;

  constructor(private readonly capacity: number) {}

  get(key: K): V | undefined {
    if (key === this.lastKey && this.lastValue !== undefined) return this.lastValue;
    const value = this.map.get(key);
    if (value !== undefined) {
      this.lastKey = key;
      this.lastValue = value;
      // Re-insert to mark as most recently used (Map keeps insertion order).
      this.map.delete(key);
      this.map.set(key, value);
    }
    return value;
  }

  /** Whether `key` is held, without marking it used. */
  has(key: K): boolean {
    return this.map.has(key);
  }

  /** Adds `key`; returns the value it evicted to make room, if any. */
  set(key: K, value: V): V | undefined {
    this.map.delete(key);
    this.map.set(key, value);
    this.lastKey = key;
    this.lastValue = value;
    if (this.map.size > this.capacity) {
      const oldest = this.map.entries().next();
      if (!oldest.done) {
        this.map.delete(oldest.value[0]);
        return oldest.value[1];
      }
    }
    return undefined;
  }

  get size(): number {
    return this.map.size;
  }
}
