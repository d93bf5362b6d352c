// The universal build: fflate's Node build loads node:worker_threads as it is
// imported (for its async API, unused here), a start-up cost for every command.
import { inflateSync } from "fflate/browser";
import { decompress as zstdDecompress } from "fzstd";
import { zstdFrameLength } from "../format/zstd-frame.js";

/**
 * Inflates one compressed cluster. Implementations behave as QEMU's
 * `qcow2_zlib_decompress` / `qcow2_zstd_decompress`: the output must be
 * exactly `outputSize` bytes (a stream that ends early is an error); the
 * input may carry trailing bytes up to the end of its last sector.
 */
export interface Decompressor {
  inflateRaw(input: Uint8Array, outputSize: number): Uint8Array;
  /** Optional off-thread variant; used when present so clusters decompress in parallel. */
  inflateRawAsync?(input: Uint8Array, outputSize: number): Promise<Uint8Array>;
}

/** Decodes a zstd-compressed cluster (compression_type 1). */
export interface ZstdDecompressor {
  decompress(input: Uint8Array, outputSize: number): Uint8Array;
  /** Optional asynchronous variant (e.g. a WebAssembly decoder that loads lazily). */
  decompressAsync?(input: Uint8Array, outputSize: number): Promise<Uint8Array>;
}

/** Browser-safe pure-JS inflate (fflate); the Node entry swaps in `node:zlib`. */
export const fflateDecompressor: Decompressor = {
  inflateRaw(input: Uint8Array, outputSize: number): Uint8Array {
    const out = new Uint8Array(outputSize);
    // fflate stops writing at the end of `out`, matching QEMU stopping once its
    // cluster buffer is full.
    const written = inflateSync(input, { out });
    if (written.length !== outputSize) {
      throw new Error(`deflate stream produced ${written.length} bytes, expected ${outputSize}`);
    }
    return written;
  },
};

/**
 * zstd through `fzstd`: pure JavaScript (Node 20's zlib has no zstd), so the
 * same decoder runs in Node and browsers. The frame is cut at its end first:
 * QCOW2 pads compressed clusters to whole sectors and the decoder would read
 * the padding as a second, invalid frame.
 */
export const fzstdDecompressor: ZstdDecompressor = {
  decompress(input: Uint8Array, outputSize: number): Uint8Array {
    const frameLength = zstdFrameLength(input);
    if (frameLength === null) throw new Error("not a complete zstd frame");
    const out = new Uint8Array(outputSize);
    const written = zstdDecompress(input.subarray(0, frameLength), out);
    if (written.length !== outputSize) {
      throw new Error(`zstd frame produced ${written.length} bytes, expected ${outputSize}`);
    }
    return written;
  },
};
