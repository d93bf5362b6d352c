import { Readable } from "node:stream";
import type { Qcow2Image } from "./qcow2-image.js";

/**
 * The virtual disk as a Node `Readable`: it reads the next chunk only when the
 * consumer asks, so memory stays bounded whatever the disk size.
 */
export function toNodeReadable(
  image: Qcow2Image,
  options: { start?: number; end?: number; chunkSize?: number } = {},
): Readable {
  const chunkSize = options.chunkSize ?? 1024 * 1024;
  const end = Math.min(options.end ?? image.virtualSize, image.virtualSize);
  let pos = options.start ?? 0;
  return new Readable({
    highWaterMark: 1,
    objectMode: false,
    read() {
      if (pos >= end) {
        this.push(null);
        return;
      }
      const n = Math.min(chunkSize, end - pos);
      image.read(pos, n).then(
        (chunk) => {
          pos += n;
          this.push(chunk);
        },
        (e: unknown) => this.destroy(e instanceof Error ? e : new Error(String(e))),
      );
    },
  });
}
