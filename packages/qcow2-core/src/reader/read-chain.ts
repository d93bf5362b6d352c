import type { Layer } from "./layer.js";

/**
 * Fills `out` with the guest bytes at `offset` as the chain `layers` (top
 * first) shows them from layer `depth` down: each layer's own bytes, the
 * ranges it leaves unallocated from the layer below, zeros past the end of
 * the chain or of a shorter backing file.
 */
export async function readChain(
  layers: readonly Layer[],
  depth: number,
  out: Uint8Array,
  offset: number,
): Promise<void> {
  const holes = await (layers[depth] as Layer).readOwn(out, offset);
  const below = layers[depth + 1];
  for (const hole of holes) {
    // Beyond the end of the chain, or of a shorter backing file, the guest sees zeros.
    const end =
      below === undefined ? hole.start : Math.min(hole.start + hole.length, below.virtualSize);
    if (hole.start < end)
      await readChain(
        layers,
        depth + 1,
        out.subarray(hole.start - offset, end - offset),
        hole.start,
      );
    out.fill(0, Math.max(hole.start, end) - offset, hole.start + hole.length - offset);
  }
}
