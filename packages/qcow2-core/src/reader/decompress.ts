import { inflateSync } from "fflate";

/**
 * Inflates one compressed cluster. Implementations must behave as QEMU's
 * `qcow2_zlib_decompress`: raw deflate, output exactly `outputSize` bytes
 * (a stream that ends early is an error), input may carry trailing bytes.
 */
export interface Decompressor {
  inflateRaw(input: Uint8Array, outputSize: number): Uint8Array;
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
    return written.buffer === out.buffer && written.byteOffset === 0 ? out : written;
  },
};
