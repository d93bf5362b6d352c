import type { MapExtent } from "../reader/map.js";

/**
 * The exact text `qemu-img map --output=json` prints for these extents
 * (QEMU 7.x: one object per line, `offset` only when valid).
 */
export function formatQemuMapJson(extents: readonly MapExtent[]): string {
  return `[${extents.map(formatQemuMapEntry).join(",\n")}]\n`;
}

/** One extent as qemu-img prints it inside its JSON array. */
export function formatQemuMapEntry(e: MapExtent): string {
  return `{ "start": ${e.start}, "length": ${e.length}, "depth": ${e.depth}, "present": ${e.present}, "zero": ${e.zero}, "data": ${e.data}${e.offset === undefined ? "" : `, "offset": ${e.offset}`}}`;
}
