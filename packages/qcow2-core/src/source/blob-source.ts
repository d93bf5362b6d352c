import type { ByteSource } from "./byte-source.js";

/** The part of the web `Blob` interface the parser needs. */
export interface BlobLike {
  readonly size: number;
  slice(start: number, end: number): { arrayBuffer(): Promise<ArrayBuffer> };
}

/**
 * A {@link ByteSource} over a browser `Blob`/`File` (or Node's `Blob`), so a
 * page can inspect an image the user dropped without uploading it.
 */
export function blobSource(blob: BlobLike, name = "blob"): ByteSource {
  return {
    size: blob.size,
    name,
    async read(position: number, length: number): Promise<Uint8Array> {
      const start = Math.min(Math.max(0, position), blob.size);
      const end = Math.min(blob.size, start + Math.max(0, length));
      return new Uint8Array(await blob.slice(start, end).arrayBuffer());
    },
  };
}
