import { Qcow2Error } from "../errors.js";

/**
 * A random-access, read-only source of bytes: a local file, an in-memory
 * buffer, a browser `Blob`. Every parser in this package reads through it, so
 * the same code runs in Node and in a browser.
 */
export interface ByteSource {
  /** Total length in bytes. */
  readonly size: number;
  /** A name for messages (a path, "memory", a Blob's name). */
  readonly name: string;
  /**
   * Names the underlying bytes: two sources with the same identity read the
   * same bytes (a local file's device and inode). Optional; see `sourceIdentity`.
   */
  readonly identity?: string;
  /**
   * Reads up to `length` bytes at `position`. Returns fewer only at end of
   * source. Never throws for a range past the end: it returns what exists.
   */
  read(position: number, length: number): Promise<Uint8Array>;
  /**
   * Optional zero-copy read: fills `target` from `position` and returns the
   * bytes read (fewer only at end of source).
   */
  readInto?(target: Uint8Array, position: number): Promise<number>;
  /**
   * Optional synchronous read for hot metadata loops (local files in the page
   * cache answer faster without a promise per read).
   */
  readIntoSync?(target: Uint8Array, position: number): number;
  /**
   * True when every read costs a round trip (a remote source): readers then
   * keep several reads in flight and avoid reading the same bytes twice.
   */
  readonly highLatency?: boolean;
  /** Releases the underlying handle; further reads fail. */
  close?(): Promise<void>;
}

/**
 * Reads exactly `length` bytes or throws a typed `TRUNCATED` error naming the
 * structure: a structure that ends past end-of-file is a finding, not a
 * zero-filled buffer.
 */
export async function readExact(
  source: ByteSource,
  position: number,
  length: number,
  structure: string,
): Promise<Uint8Array> {
  if (
    !Number.isSafeInteger(position) ||
    position < 0 ||
    !Number.isSafeInteger(length) ||
    length < 0
  ) {
    throw new Qcow2Error("OUT_OF_RANGE", `${structure}: invalid range ${position}+${length}`, {
      file: source.name,
      field: structure,
      value: position,
    });
  }
  if (position + length > source.size) {
    throw new Qcow2Error(
      "TRUNCATED",
      `${structure} at offset ${position} (+${length} bytes) extends past end of file (${source.size} bytes)`,
      { file: source.name, field: structure, value: position, offset: position },
    );
  }
  const bytes = await readSafely(source, position, length);
  if (bytes.length < length) {
    throw new Qcow2Error("TRUNCATED", `${structure}: short read at offset ${position}`, {
      file: source.name,
      field: structure,
      offset: position,
    });
  }
  return bytes;
}

/**
 * Reads up to `length` bytes (fewer at end of file), turning any failure of
 * the underlying source into a typed `IO` error.
 */
export async function readSafely(
  source: ByteSource,
  position: number,
  length: number,
): Promise<Uint8Array> {
  try {
    return await source.read(position, length);
  } catch (cause) {
    throw readFailure(source, position, length, cause);
  }
}

/** A failed read as a typed `IO` error (a `Qcow2Error` passes through). */
function readFailure(source: ByteSource, position: number, length: number, cause: unknown): Error {
  if (cause instanceof Qcow2Error) return cause;
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new Qcow2Error("IO", `read of ${length} bytes at offset ${position} failed: ${reason}`, {
    file: source.name,
    offset: position,
    cause,
  });
}

/** The largest single zero-padded read (the L1 table bound, 32 MiB, is the largest legitimate one). */
export const MAX_PADDED_READ = 64 * 1024 * 1024;

/**
 * Reads exactly `length` bytes, zero-filling whatever lies past end of file —
 * what QEMU's file driver returns for a read beyond EOF, so the reader shows
 * the guest what QEMU would. Check and audit report such offsets separately.
 */
export async function readPadded(
  source: ByteSource,
  position: number,
  length: number,
): Promise<Uint8Array> {
  // Every caller bounds `length` from the image first; this is the last line of defence.
  if (!Number.isSafeInteger(length) || length < 0 || length > MAX_PADDED_READ) {
    throw new Qcow2Error(
      "LIMIT_EXCEEDED",
      `refusing to read ${length} bytes at offset ${position} in one piece`,
      {
        file: source.name,
        value: length,
        offset: position,
      },
    );
  }
  const bytes =
    position >= source.size ? new Uint8Array(0) : await readSafely(source, position, length);
  if (bytes.length === length) return bytes;
  const out = new Uint8Array(length);
  out.set(bytes.subarray(0, length));
  return out;
}

/**
 * Fills `target` with the bytes at `position`, zero-filling past end of file
 * (as {@link readPadded}) — straight into the caller's buffer when the source
 * supports it, so the hot read path copies nothing.
 */
export async function readIntoPadded(
  source: ByteSource,
  target: Uint8Array,
  position: number,
): Promise<void> {
  let n = 0;
  if (position < source.size) {
    if (source.readInto) {
      try {
        n = await source.readInto(
          target.subarray(0, Math.min(target.length, source.size - position)),
          position,
        );
      } catch (cause) {
        throw readFailure(source, position, target.length, cause);
      }
    } else {
      const bytes = await readPadded(source, position, target.length);
      target.set(bytes);
      return;
    }
  }
  if (n < target.length) target.fill(0, n);
}

/**
 * {@link readPadded} for small metadata-sized reads (an L2 table, one
 * compressed cluster): synchronous when the source offers it, because a
 * page-cached local file answers thousands of such reads faster without a
 * promise and a thread-pool round trip each.
 */
export async function readSmallPadded(
  source: ByteSource,
  position: number,
  length: number,
): Promise<Uint8Array> {
  const sync = source.readIntoSync;
  if (sync === undefined || position >= source.size || length > MAX_PADDED_READ)
    return readPadded(source, position, length);
  const out = new Uint8Array(length);
  try {
    sync.call(source, out, position);
  } catch (cause) {
    throw readFailure(source, position, length, cause);
  }
  return out;
}

/**
 * {@link readSmallPadded} into `target` (whole, zero-padded past end of
 * file), synchronously; `false`, with nothing read, when the source has no
 * synchronous read or the bytes start past its end.
 */
export function readSmallPaddedIntoSync(
  source: ByteSource,
  target: Uint8Array,
  position: number,
): boolean {
  const sync = source.readIntoSync;
  if (sync === undefined || position >= source.size || target.length > MAX_PADDED_READ)
    return false;
  let n: number;
  try {
    n = sync.call(source, target, position);
  } catch (cause) {
    throw readFailure(source, position, target.length, cause);
  }
  if (n < target.length) target.fill(0, n);
  return true;
}
