import { type Evidence, hostLocation, type Location } from "@x/report";

/** How many individual clusters or entries one finding cites; counts stay exact. */
export const MAX_CITED = 16;

export const hex = (n: number) => `0x${n.toString(16)}`;

/** Evidence located at a host offset (optionally a length) inside a named structure. */
export function atHost(
  field: string,
  value: string,
  offset: number,
  length: number | undefined,
  structure: string,
): Evidence {
  return { field, value, location: hostLocation(offset, length, structure) };
}

/** Evidence located in a named structure without an offset of its own. */
export function inStructure(field: string, value: string, structure: string): Evidence {
  const location: Location = { kind: "field", structure };
  return { field, value, location };
}

/** "…, first at host offset 0x…" for notes. */
export function firstAt(offsets: readonly number[]): string {
  const first = offsets[0];
  return first === undefined ? "" : ` (first at host offset ${hex(first)})`;
}
