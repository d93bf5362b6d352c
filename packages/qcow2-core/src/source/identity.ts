import type { ByteSource } from "./byte-source.js";

const assigned = new WeakMap<ByteSource, string>();
let next = 0;

/**
 * What makes two sources "the same bytes": the source's own `identity` (a
 * file's device and inode, set by `openFileSource`) or, without one, the
 * source object itself. `diff` treats equal host offsets in sources of equal
 * identity as equal bytes and does not read them.
 *
 * @example
 * ```ts
 * sourceIdentity(await openFileSource("a.qcow2")) === sourceIdentity(await openFileSource("a.qcow2")); // true
 * ```
 */
export function sourceIdentity(source: ByteSource): string {
  if (source.identity !== undefined) return source.identity;
  let id = assigned.get(source);
  if (id === undefined) {
    id = `object:${next++}`;
    assigned.set(source, id);
  }
  return id;
}
