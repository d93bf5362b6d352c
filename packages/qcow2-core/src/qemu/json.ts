const MARK = "\u0000bigint:";

/**
 * JSON as qemu-img prints it (4-space indent), with `bigint` values written
 * as exact JSON numbers — QEMU's 64-bit fields can exceed what a JS number
 * holds, and a rounded or `null` value would misstate the evidence.
 *
 * @example
 * ```ts
 * stringifyQemuJson({ "vm-state-size": 72057594037927424n }); // exact digits
 * ```
 */
export function stringifyQemuJson(value: unknown): string {
  const text = JSON.stringify(
    value,
    (_key, v) => (typeof v === "bigint" ? `${MARK}${v.toString()}` : v),
    4,
  );
  return text.replace(/"\\u0000bigint:(-?\d+)"/g, "$1");
}
