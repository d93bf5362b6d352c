import type { MapExtent } from "./map.js";

/** One piece of the virtual disk, in disk order. */
export interface DiskChunk {
  /** Guest offset of the first byte. */
  offset: number;
  length: number;
  /**
   * The bytes, or `null` when the map says the whole range reads as zeros:
   * nothing was read, and `length` may be far larger than `chunkSize`.
   */
  bytes: Uint8Array | null;
}

/** How {@link diskChunks} walks the disk. */
export interface ChunkOptions {
  /** First guest byte (default 0). */
  start?: number;
  /** End of the range, exclusive (default: the end of the disk). */
  end?: number;
  /** Largest chunk with bytes (default 4 MiB). */
  chunkSize?: number;
  /**
   * Shortest run the map calls zero that is reported as a zero chunk instead
   * of being read (default `chunkSize`). Lower it when skipping zeros saves
   * work (a sparse export); shorter runs are read with their neighbours.
   */
  minZeroRun?: number;
  /** Reads in flight ahead of the consumer (default 2; 0 reads only on demand). */
  readAhead?: number;
  /**
   * Read into a small ring of buffers instead of a new one per chunk: faster,
   * but a chunk's `bytes` are then valid only until `holdChunks` more chunks
   * with bytes have been asked for. Copy what must be kept.
   */
  reuseBuffers?: boolean;
  /**
   * With `reuseBuffers`: how many chunks with bytes the consumer may hold at
   * once, the one it was just given included (default 1, at most 16). A
   * consumer that keeps writes in flight holds one chunk per pending write.
   */
  holdChunks?: number;
  /**
   * With `reuseBuffers`: the ring lives in a `SharedArrayBuffer`, so a chunk
   * can be handed to a worker thread without a copy (Node, or a browser page
   * that is cross-origin isolated).
   */
  sharedBuffers?: boolean;
}

/** What the walk needs from an image. */
export interface ChunkableImage {
  readonly virtualSize: number;
  read(offset: number, length: number): Promise<Uint8Array>;
  readInto(target: Uint8Array, offset: number): Promise<number>;
  mapExtents(): AsyncIterable<MapExtent>;
}

const DEFAULT_CHUNK = 4 * 1024 * 1024;
const MAX_READ_AHEAD = 16;
const MAX_HOLD = 16;

interface Planned {
  offset: number;
  length: number;
  zero: boolean;
}

/**
 * The ranges to produce: runs the map calls zero become one zero range when
 * they are at least `minZeroRun` long (shorter ones are read like the rest,
 * so a disk of scattered small writes is still read in whole chunks);
 * everything else is cut into chunks of `chunkSize`.
 */
async function* plan(
  image: ChunkableImage,
  start: number,
  end: number,
  chunkSize: number,
  minZeroRun: number,
): AsyncGenerator<Planned> {
  let dataFrom = start;
  let dataTo = start;
  function* flushData(): Generator<Planned> {
    for (let at = dataFrom; at < dataTo; at += chunkSize)
      yield { offset: at, length: Math.min(chunkSize, dataTo - at), zero: false };
  }
  for await (const e of image.mapExtents()) {
    const from = Math.max(e.start, start);
    const to = Math.min(e.start + e.length, end);
    if (e.start >= end) break;
    if (to <= from) continue;
    if (e.zero && to - from >= minZeroRun) {
      yield* flushData();
      yield { offset: from, length: to - from, zero: true };
      dataFrom = dataTo = to;
    } else {
      dataTo = to;
      // Emit whole chunks as soon as they are known, keeping the remainder to merge on.
      while (dataTo - dataFrom >= chunkSize) {
        yield { offset: dataFrom, length: chunkSize, zero: false };
        dataFrom += chunkSize;
      }
    }
  }
  yield* flushData();
}

/**
 * Walks the virtual disk in order, reading ahead of the consumer so that I/O
 * and decompression overlap with whatever the consumer does (hashing,
 * writing). Long zero runs are reported without being read.
 */
export async function* diskChunks(
  image: ChunkableImage,
  options: ChunkOptions = {},
): AsyncGenerator<DiskChunk> {
  const end = Math.min(options.end ?? image.virtualSize, image.virtualSize);
  const start = Math.max(0, Math.min(options.start ?? 0, end));
  const chunkSize = Math.max(1, Math.min(options.chunkSize ?? DEFAULT_CHUNK, 64 * 1024 * 1024));
  const readAhead = Math.max(0, Math.min(options.readAhead ?? 2, MAX_READ_AHEAD));
  const minZeroRun = Math.max(1, Math.min(options.minZeroRun ?? chunkSize, chunkSize));
  const planned = plan(image, start, end, chunkSize, minZeroRun);
  const queue: Array<{ range: Planned; bytes: Promise<Uint8Array> | null }> = [];
  const hold = Math.max(1, Math.min(options.holdChunks ?? 1, MAX_HOLD));
  // One buffer for each read in flight (the loop below queues one more than
  // `readAhead` before it yields), and one for each chunk the consumer holds.
  const ring = options.reuseBuffers
    ? Array.from({ length: readAhead + 1 + hold }, () => {
        const size = Math.min(chunkSize, end - start);
        return options.sharedBuffers
          ? new Uint8Array(new SharedArrayBuffer(size))
          : new Uint8Array(size);
      })
    : null;
  let nextBuffer = 0;
  const read = (range: Planned): Promise<Uint8Array> => {
    if (ring === null) return image.read(range.offset, range.length);
    const buffer = (ring[nextBuffer] as Uint8Array).subarray(0, range.length);
    nextBuffer = (nextBuffer + 1) % ring.length;
    return image.readInto(buffer, range.offset).then((n) => buffer.subarray(0, n));
  };
  let exhausted = false;
  const enqueue = async (): Promise<boolean> => {
    if (exhausted) return false;
    const next = await planned.next();
    if (next.done) {
      exhausted = true;
      return false;
    }
    const range = next.value;
    let bytes: Promise<Uint8Array> | null = null;
    if (!range.zero) {
      bytes = read(range);
      // Seen now so that a failed read waiting in the queue is not an unhandled rejection;
      // the consumer still gets the error when it reaches that chunk.
      bytes.catch(() => undefined);
    }
    queue.push({ range, bytes });
    return true;
  };
  const readsQueued = () => queue.reduce((n, q) => n + (q.bytes === null ? 0 : 1), 0);
  for (;;) {
    while (queue.length === 0 || readsQueued() <= readAhead) {
      if (!(await enqueue())) break;
    }
    const head = queue.shift();
    if (head === undefined) return;
    const { range } = head;
    yield {
      offset: range.offset,
      length: range.length,
      bytes: head.bytes === null ? null : await head.bytes,
    };
  }
}
