import type { ByteSource } from "./byte-source.js";

/**
 * A {@link ByteSource} over bytes already in memory.
 *
 * @example
 * ```ts
 * const info = await inspect(memorySource(bytes));
 * ```
 */
export function memorySource(bytes: Uint8Array, name = "memory"): ByteSource {
  return {
    size: bytes.length,
    name,
    async read(position: number, length: number): Promise<Uint8Array> {
      const start = Math.min(Math.max(0, position), bytes.length);
      const end = Math.min(bytes.length, start + Math.max(0, length));
      return bytes.subarray(start, end);
    },
    async readInto(target: Uint8Array, position: number): Promise<number> {
      const start = Math.min(Math.max(0, position), bytes.length);
      const part = bytes.subarray(start, Math.min(bytes.length, start + target.length));
      target.set(part);
      return part.length;
    },
  };
}
