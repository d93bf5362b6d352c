/**
 * Stable machine-readable error codes of `@x/volumes`. A code never changes
 * meaning once published; callers branch on it, not on message text.
 *
 * - `INVALID_DISK`: the disk object is unusable (size not a non-negative safe integer, no `read`).
 * - `IO`: the disk's `read` failed; `cause` holds what it threw.
 * - `LIMIT_EXCEEDED`: the read budget of one call was spent (hostile tables); see `READ_BUDGET`.
 * - `OUT_OF_RANGE`: a caller asked for a range that is not a valid byte range.
 */
export type VolumesErrorCode = "INVALID_DISK" | "IO" | "LIMIT_EXCEEDED" | "OUT_OF_RANGE";

/** Details that let a message name the offending offset or field. */
export interface VolumesErrorDetails {
  /** Guest byte offset involved, when known. */
  offset?: number;
  /** The on-disk field or structure at fault. */
  field?: string;
  /** The underlying error (`IO`). */
  cause?: unknown;
}

/**
 * The only error type `@x/volumes` throws. Damaged tables and junk
 * superblocks are not errors: they are `problems` of the layout.
 *
 * @example
 * ```ts
 * try { await readVolumes(disk); }
 * catch (e) { if (isVolumesError(e) && e.code === "IO") console.log("disk unreadable:", e.cause); }
 * ```
 */
export class VolumesError extends Error {
  override readonly name = "VolumesError";
  readonly code: VolumesErrorCode;
  readonly offset: number | undefined;
  readonly field: string | undefined;

  constructor(code: VolumesErrorCode, message: string, details: VolumesErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.offset = details.offset;
    this.field = details.field;
  }
}

/** Whether `e` is a {@link VolumesError} (also across bundled copies of this package). */
export function isVolumesError(e: unknown): e is VolumesError {
  return (
    e instanceof VolumesError ||
    (e instanceof Error &&
      e.name === "VolumesError" &&
      typeof (e as VolumesError).code === "string")
  );
}
