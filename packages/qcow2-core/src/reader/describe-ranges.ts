import {
  ChainCursor,
  type DiffStorage,
  describeStorage,
  storageContinues,
} from "./chain-cursor.js";
import type { GuestRange } from "./layer.js";
import type { DiskView } from "./state.js";

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
  const side = new ChainCursor(view, view.virtualSize);
  let pending: StoredRange | null = null;
  for await (const r of ranges) {
    const end = Math.min(r.start + r.length, view.virtualSize);
    for (let pos = Math.max(0, r.start); pos < end; ) {
      const at = side.atSync(pos) ?? (await side.at(pos));
      const stop = Math.min(at.end, end);
      const storage = describeStorage(at, pos);
      if (
        pending !== null &&
        pending.start + pending.length === pos &&
        storageContinues(pending.storage, storage, pending.length)
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
