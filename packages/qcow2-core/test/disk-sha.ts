import { createHash } from "node:crypto";
import type { OpenImageOptions, Qcow2Image } from "../src/index.js";
import { type FileResolveOptions, openImage } from "../src/node.js";

/**
 * SHA-256 of the whole virtual disk, read twice: through `chunks()` (small
 * chunks, reused buffers, reads in flight, zero runs skipped) and through
 * `stream()`. The two must agree; the answer is then compared with qemu-img's.
 */
export async function diskSha256(image: Qcow2Image): Promise<string> {
  const viaChunks = createHash("sha256");
  const zeros = new Uint8Array(64 * 1024);
  let expectedOffset = 0;
  for await (const { offset, length, bytes } of image.chunks({
    chunkSize: 64 * 1024,
    readAhead: 3,
    reuseBuffers: true,
  })) {
    if (offset !== expectedOffset) throw new Error(`chunks(): gap at ${expectedOffset}`);
    expectedOffset += length;
    if (bytes !== null) {
      if (bytes.length !== length) throw new Error(`chunks(): ${bytes.length} bytes for ${length}`);
      viaChunks.update(bytes);
    } else {
      for (let left = length; left > 0; left -= zeros.length)
        viaChunks.update(zeros.subarray(0, Math.min(zeros.length, left)));
    }
  }
  if (expectedOffset !== image.virtualSize)
    throw new Error(`chunks(): ended at ${expectedOffset} of ${image.virtualSize}`);
  const viaStream = createHash("sha256");
  for await (const chunk of image.stream()) viaStream.update(chunk);
  const a = viaChunks.digest("hex");
  const b = viaStream.digest("hex");
  if (a !== b) throw new Error(`chunks() read ${a}, stream() read ${b}`);
  return a;
}

/** {@link diskSha256} of the image file at `path`, opened with `options`. */
export async function imageSha256(
  path: string,
  options: OpenImageOptions & FileResolveOptions = {},
): Promise<string> {
  const image = await openImage(path, options);
  try {
    return await diskSha256(image);
  } finally {
    await image.close();
  }
}
