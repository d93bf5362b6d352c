import { type ByteSource, readPadded, readSafely } from "./byte-source.js";

/**
 * Sequential reads through a window, for walking variable-length records
 * (the snapshot table) without one read per field and without reading a
 * whole table a crafted header claims is huge.
 */
export class SourceCursor {
  private window: Uint8Array = new Uint8Array(0);
  private windowStart = 0;

  constructor(
    private readonly source: ByteSource,
    public position: number,
    private readonly windowSize = 64 * 1024,
  ) {}

  /**
   * Returns exactly `length` bytes at the cursor and advances, or `null` when
   * the source ends first (the caller reports truncation).
   */
  async take(length: number): Promise<Uint8Array | null> {
    if (this.position + length > this.source.size) return null;
    const rel = this.position - this.windowStart;
    if (rel < 0 || rel + length > this.window.length) {
      const size = Math.max(length, this.windowSize);
      this.window = await readSafely(this.source, this.position, size);
      this.windowStart = this.position;
      if (this.window.length < length) return null;
    }
    const at = this.position - this.windowStart;
    this.position += length;
    return this.window.subarray(at, at + length);
  }

  /**
   * {@link takePadded} without waiting, when the bytes are already in the
   * window (most fields of a table read sequentially); `undefined` otherwise,
   * and the cursor does not move.
   */
  takeBuffered(length: number): Uint8Array | undefined {
    if (this.position + length > this.source.size) return undefined;
    const at = this.position - this.windowStart;
    if (at < 0 || at + length > this.window.length) return undefined;
    this.position += length;
    return this.window.subarray(at, at + length);
  }

  /**
   * Returns exactly `length` bytes at the cursor and advances; bytes past the
   * end of the source read as zeros, as QEMU's reads past end of file do.
   */
  async takePadded(length: number): Promise<Uint8Array> {
    if (this.position + length <= this.source.size) return (await this.take(length)) as Uint8Array;
    const bytes = await readPadded(this.source, this.position, length);
    this.position += length;
    return bytes;
  }

  /** Advances without returning bytes; `false` when that passes the end. */
  skip(length: number): boolean {
    this.position += length;
    return this.position <= this.source.size;
  }
}
