import { zstdFrameLength } from "../format/zstd-frame.js";
import { fzstdDecompressor, type ZstdDecompressor } from "./decompress.js";

interface WasmDecoder {
  decode(input: Uint8Array, uncompressedSize: number): Uint8Array;
}

let loading: Promise<WasmDecoder | null> | null = null;

/**
 * The reference zstd decoder compiled to WebAssembly (`zstddec`), loaded on
 * first use: several times faster than pure-JS decoding, and, like it, free
 * of native builds, so it runs in Node and browsers alike. If WebAssembly is
 * unavailable the pure-JS decoder takes over.
 */
function wasmDecoder(): Promise<WasmDecoder | null> {
  loading ??= import("zstddec")
    .then(async (m) => {
      const d = new m.ZSTDDecoder();
      await d.init();
      return d as WasmDecoder;
    })
    .catch(() => null);
  return loading;
}

/** zstd for compressed clusters: WebAssembly when it loads, pure JS otherwise. */
export const zstdDecompressor: ZstdDecompressor = {
  decompress: fzstdDecompressor.decompress,
  async decompressAsync(input: Uint8Array, outputSize: number): Promise<Uint8Array> {
    const decoder = await wasmDecoder();
    if (decoder === null) return fzstdDecompressor.decompress(input, outputSize);
    // QCOW2 pads the frame to whole sectors; the decoder must see the frame alone.
    const frameLength = zstdFrameLength(input);
    if (frameLength === null) throw new Error("not a complete zstd frame");
    const out = decoder.decode(input.subarray(0, frameLength), outputSize);
    if (out.length !== outputSize)
      throw new Error(`zstd frame produced ${out.length} bytes, expected ${outputSize}`);
    return out;
  },
};
