import { decompress as zstdDecompress } from "fzstd";
import { zstdFrameLength } from "../format/zstd-frame.js";

/**
 * Inflates one compressed cluster. Implementations behave as QEMU's
 * `qcow2_zlib_decompress` / `qcow2_zstd_decompress`: the output must be
 * exactly `outputSize` bytes (a stream that ends early is an error); the
 * input may carry trailing bytes up to the end of its last sector.
 *
 * A decompressor has a synchronous form, an asynchronous one, or both; the
 * reader uses the asynchronous form when present (off-thread codecs decompress
 * the clusters of one read in parallel, and a codec can load on first use).
 *
 * @example
 * ```ts
 * const mine: Decompressor = { inflateRaw: (input, size) => myInflate(input, size) };
 * const image = await Qcow2Image.open(source, { decompressor: mine });
 * ```
 */
export type Decompressor =
  | {
      inflateRaw(input: Uint8Array, outputSize: number): Uint8Array;
      inflateRawAsync?(input: Uint8Array, outputSize: number): Promise<Uint8Array>;
    }
  | {
      inflateRaw?: undefined;
      inflateRawAsync(input: Uint8Array, outputSize: number): Promise<Uint8Array>;
    };

/** Inflates with `d`, asynchronously when it can. */
export function inflateWith(
  d: Decompressor,
  input: Uint8Array,
  outputSize: number,
): Promise<Uint8Array> | Uint8Array {
  if (d.inflateRawAsync) return d.inflateRawAsync(input, outputSize);
  // The type promises one of the two forms; a plain-JS caller may break it.
  if (!d.inflateRaw) throw new TypeError("a Decompressor needs inflateRaw or inflateRawAsync");
  return d.inflateRaw(input, outputSize);
}

/** Decodes a zstd-compressed cluster (compression_type 1). */
export interface ZstdDecompressor {
  decompress(input: Uint8Array, outputSize: number): Uint8Array;
  /** Optional asynchronous variant (e.g. a WebAssembly decoder that loads lazily). */
  decompressAsync?(input: Uint8Array, outputSize: number): Promise<Uint8Array>;
}

// Loaded on first use: fflate builds its Huffman tables as it is imported, a
// start-up cost (≈10 ms on a slow machine) for every command, and in Node it
// only serves the rare stream that inflates past its cluster. The universal
// build: fflate's Node build loads node:worker_threads for an API unused here.
let fflate: Promise<typeof import("fflate/browser")> | undefined;

/**
 * Browser-safe pure-JS inflate (fflate, loaded on the first compressed
 * cluster); the Node entry swaps in `node:zlib`.
 */
export const fflateDecompressor = {
  async inflateRawAsync(input: Uint8Array, outputSize: number): Promise<Uint8Array> {
    fflate ??= import("fflate/browser");
    const { inflateSync } = await fflate;
    const out = new Uint8Array(outputSize);
    // fflate stops writing at the end of `out`, matching QEMU stopping once its
    // cluster buffer is full.
    const written = inflateSync(input, { out });
    if (written.length !== outputSize) {
      throw new Error(`deflate stream produced ${written.length} bytes, expected ${outputSize}`);
    }
    return written;
  },
} satisfies Decompressor;

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
