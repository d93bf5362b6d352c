import { type Evidence, fieldLocation, hostLocation, type Location } from "@x/report";

/** How many individual clusters or entries one finding cites; counts stay exact. */
export const MAX_CITED = 16;

/** `0x…` of an offset; a value that is not an exact byte count says so instead of printing a rounded number. */
export const hex = (n: number) =>
  Number.isSafeInteger(n) && n >= 0 ? `0x${n.toString(16)}` : `(out of range: ${n})`;

const isByteCount = (n: number | undefined) => n !== undefined && Number.isSafeInteger(n) && n >= 0;

/**
 * A host location, or — for an offset that is not an exact byte count (a
 * 64-bit value above 2^53 read from a damaged image) — the structure alone:
 * evidence built from hostile values must never fail, and the exact value is
 * the evidence's own `value`.
 */
export function hostAt(offset: number, length: number | undefined, structure: string): Location {
  if (!isByteCount(offset)) return fieldLocation(structure);
  return hostLocation(offset, isByteCount(length) ? length : undefined, structure);
}

/** Evidence located at a host offset (optionally a length) inside a named structure. */
export function atHost(
  field: string,
  value: string,
  offset: number,
  length: number | undefined,
  structure: string,
): Evidence {
  return { field, value, location: hostAt(offset, length, structure) };
}

/** Evidence located in a named structure without an offset of its own. */
export function inStructure(field: string, value: string, structure: string): Evidence {
  return { field, value, location: fieldLocation(structure) };
}

/** "…, first at host offset 0x…" for notes. */
export function firstAt(offsets: readonly number[]): string {
  const first = offsets[0];
  return first === undefined ? "" : ` (first at host offset ${hex(first)})`;
}
