import type { MapExtent } from "../reader/map.js";

/**
 * The exact text `qemu-img map --output=json` prints for these extents
 * (QEMU 7.x: one object per line, `offset` only when valid).
 */
export function formatQemuMapJson(extents: readonly MapExtent[]): string {
  const lines = extents.map(
    (e) =>
      `{ "start": ${e.start}, "length": ${e.length}, "depth": ${e.depth}, "present": ${e.present}, "zero": ${e.zero}, "data": ${e.data}${e.offset === undefined ? "" : `, "offset": ${e.offset}`}}`,
  );
  return `[${lines.join(",\n")}]\n`;
}
