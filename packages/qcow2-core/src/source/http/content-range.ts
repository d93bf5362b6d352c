/** A `Content-Range` answer: `bytes start-end/total` (RFC 9110 §14.4). */
export interface ContentRange {
  /** First byte. */
  start: number;
  /** Last byte, inclusive. */
  end: number;
  /** Length of the whole object, or `null` when the server sent `*`. */
  total: number | null;
}

const RANGE = /^bytes\s+(\d+)-(\d+)\/(\d+|\*)$/i;
const UNSATISFIED = /^bytes\s+\*\/(\d+)$/i;

function safeNumber(text: string): number | null {
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : null;
}

/**
 * Parses `Content-Range: bytes 0-65535/1073741824`; `null` for anything else
 * (a missing header, another unit, an inverted range, numbers past 2^53).
 *
 * @example
 * ```ts
 * parseContentRange("bytes 0-511/4096"); // { start: 0, end: 511, total: 4096 }
 * ```
 */
export function parseContentRange(value: string | null): ContentRange | null {
  const m = value === null ? null : RANGE.exec(value.trim());
  if (m === null) return null;
  const start = safeNumber(m[1] as string);
  const end = safeNumber(m[2] as string);
  const total = m[3] === "*" ? null : safeNumber(m[3] as string);
  if (start === null || end === null || end < start) return null;
  if (m[3] !== "*" && (total === null || end >= total)) return null;
  return { start, end, total };
}

/** The object length of a `416` answer's `Content-Range: bytes *\/N`, or `null`. */
export function parseUnsatisfiedRange(value: string | null): number | null {
  const m = value === null ? null : UNSATISFIED.exec(value.trim());
  return m === null ? null : safeNumber(m[1] as string);
}
