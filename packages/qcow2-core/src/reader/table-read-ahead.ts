/**
 * L2 tables fetched ahead of a walk in guest order (map, a whole-disk read)
 * for sources whose every read is a round trip (a remote image), where each
 * table read one after the other would cost a full round trip. A lone random
 * read fetches nothing extra: read-ahead starts only once the table before
 * the one asked for was asked for too.
 */
export class TableReadAhead {
  private readonly pending = new Map<number, Promise<Uint8Array>>();
  private readonly recent: number[] = [];

  /** `depth` tables are kept in flight (each one cluster). */
  constructor(private readonly depth: number) {}

  /** The read started for the table at `offset`, handed over once (or `undefined`). */
  take(offset: number): Promise<Uint8Array> | undefined {
    const read = this.pending.get(offset);
    this.pending.delete(offset);
    return read;
  }

  /**
   * Notes that the table of L1 entry `l1Index` is wanted; in a walk, starts
   * the next tables' reads. `offsetOf` gives an entry's usable table offset
   * (`null` for none or a bad one, which the walk itself will report).
   */
  visit(
    l1Index: number,
    offsetOf: (index: number) => number | null,
    cached: (offset: number) => boolean,
    read: (offset: number) => Promise<Uint8Array>,
  ): void {
    const walking = this.recent.includes(l1Index - 1);
    if (!this.recent.includes(l1Index)) {
      this.recent.push(l1Index);
      // Two walkers at once (a chunk walk plans with map while it reads) are both seen.
      if (this.recent.length > 4) this.recent.shift();
    }
    if (!walking) return;
    let inFlight = 0;
    // Entries without a table are skipped without counting: a sparse disk's walk jumps over them.
    for (
      let i = l1Index + 1, seen = 0;
      inFlight < this.depth && seen < 4 * this.depth;
      i++, seen++
    ) {
      const offset = offsetOf(i);
      if (offset === null) continue;
      inFlight++;
      if (this.pending.has(offset) || cached(offset)) continue;
      const bytes = read(offset);
      // A table read ahead that fails is reported when (if ever) the walk asks for it.
      bytes.catch(() => undefined);
      this.pending.set(offset, bytes);
    }
    // Reads ahead of a walk that turned away are dropped with it.
    if (this.pending.size > 4 * this.depth) this.pending.clear();
  }
}
