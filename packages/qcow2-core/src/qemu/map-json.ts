import type { MapExtent } from "../reader/map.js";

/** What qemu-img map prints for a disk of 0 bytes: one empty extent. */
const EMPTY_DISK: MapExtent = {
  start: 0,
  length: 0,
  depth: 0,
  present: false,
  zero: false,
  data: false,
};

/**
 * The exact text `qemu-img map --output=json` prints for these extents
 * (QEMU 7.x: one object per line, `offset` only when valid).
 */
export function formatQemuMapJson(extents: readonly MapExtent[]): string {
  const list = extents.length === 0 ? [EMPTY_DISK] : extents;
  return `[${list.map(formatQemuMapEntry).join(",\n")}]\n`;
}

/**
 * An integer in full: a number above 2^53 that is exact (host offsets are
 * multiples of 512 below 2^56) prints all its digits, as QEMU's %PRId64
 * does, not the shortest round-trip form JavaScript would give.
 */
const digits = (n: number) => (Number.isSafeInteger(n) ? String(n) : BigInt(n).toString());

/** One extent as qemu-img prints it inside its JSON array. */
export function formatQemuMapEntry(e: MapExtent): string {
  return `{ "start": ${digits(e.start)}, "length": ${digits(e.length)}, "depth": ${e.depth}, "present": ${e.present}, "zero": ${e.zero}, "data": ${e.data}${e.offset === undefined ? "" : `, "offset": ${digits(e.offset)}`}}`;
}
