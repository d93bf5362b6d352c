/**
 * Stable machine-readable error codes. A code never changes meaning once
 * published; callers branch on it rather than on message text.
 */
export type Qcow2ErrorCode =
  | "BAD_MAGIC"
  | "FILE_TOO_SMALL"
  | "UNSUPPORTED_VERSION"
  | "CLUSTER_BITS_OUT_OF_RANGE"
  | "L1_TOO_LARGE"
  | "UNSUPPORTED_FEATURE"
  | "OUT_OF_RANGE"
  | "TRUNCATED"
  | "INVALID_STRUCTURE"
  | "LIMIT_EXCEEDED"
  | "DECOMPRESSION_FAILED"
  | "SNAPSHOT_NOT_FOUND"
  | "BACKING_NOT_FOUND"
  | "BACKING_UNREADABLE"
  | "BACKING_LOOP"
  | "BACKING_TOO_DEEP"
  | "DATA_FILE_NOT_FOUND"
  | "BITMAP_NOT_FOUND"
  | "BITMAP_INCONSISTENT"
  | "BAD_PASSPHRASE"
  | "PASSPHRASE_REQUIRED"
  | "IO"
  /** A FIFO, socket or character device given as an image: refused before it is read (or waited on). */
  | "SPECIAL_FILE"
  /** A remote object's ETag, Last-Modified or size changed while it was being read. */
  | "SOURCE_CHANGED"
  /** A server answered with an HTTP status that is not a success (the status is in the message and `value`). */
  | "HTTP_STATUS"
  /** A server does not answer byte-range requests as asked (and the object is too large to fetch whole). */
  | "RANGE_NOT_SUPPORTED"
  /** A remote request got no answer (or no further bytes) within its timeout, retries included. */
  | "TIMEOUT"
  /** The caller's `AbortSignal` stopped the read. */
  | "ABORTED";

/** Details that let a message name the file, the field and the offending value. */
export interface Qcow2ErrorDetails {
  /** The image path or source name, when known. */
  file?: string;
  /** The on-disk field (spec name, e.g. `l1_table_offset`) that is at fault. */
  field?: string;
  /** The offending value, rendered exactly (64-bit values as decimal strings). */
  value?: string | number | bigint;
  /** Host byte offset of the structure involved, when known. */
  offset?: number;
  /** The underlying error (I/O errors). */
  cause?: unknown;
}

/**
 * The only error type the parser throws for bad input or failed I/O.
 *
 * @example
 * ```ts
 * try { await inspect(source); }
 * catch (e) { if (e instanceof Qcow2Error && e.code === "BAD_MAGIC") console.log("not QCOW"); }
 * ```
 */
export class Qcow2Error extends Error {
  override readonly name = "Qcow2Error";
  readonly code: Qcow2ErrorCode;
  readonly file: string | undefined;
  readonly field: string | undefined;
  readonly value: string | undefined;
  readonly offset: number | undefined;

  constructor(code: Qcow2ErrorCode, message: string, details: Qcow2ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.file = details.file;
    this.field = details.field;
    this.value = details.value === undefined ? undefined : String(details.value);
    this.offset = details.offset;
  }

  /** The same error, attributed to `file` (keeps code, field, value). */
  withFile(file: string): Qcow2Error {
    if (this.file !== undefined) return this;
    const copy = new Qcow2Error(this.code, this.message, {
      file,
      ...(this.field === undefined ? {} : { field: this.field }),
      ...(this.value === undefined ? {} : { value: this.value }),
      ...(this.offset === undefined ? {} : { offset: this.offset }),
      ...(this.cause === undefined ? {} : { cause: this.cause }),
    });
    copy.stack = this.stack;
    return copy;
  }
}

/** True for a {@link Qcow2Error} (also across bundle copies of this package). */
export function isQcow2Error(e: unknown): e is Qcow2Error {
  return e instanceof Qcow2Error || (e instanceof Error && e.name === "Qcow2Error" && "code" in e);
}
