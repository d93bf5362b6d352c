import { Qcow2Error } from "../errors.js";

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** A 64-bit field whose value cannot be represented exactly as a JS number. */
export interface OutOfRangeField {
  /** Spec field name, e.g. `l1_table_offset`. */
  field: string;
  /** The exact value as a decimal string. */
  value: string;
}

/**
 * Converts an exact 64-bit value to a number. Values above 2^53 − 1 are out of
 * range: recorded in `outOfRange` and returned as `NaN`, which poisons any
 * arithmetic instead of silently wrapping to a plausible wrong offset.
 */
export function toSafeNumber(value: bigint, field: string, outOfRange: OutOfRangeField[]): number {
  if (value <= MAX_SAFE) return Number(value);
  outOfRange.push({ field, value: value.toString() });
  return Number.NaN;
}

/** Like {@link toSafeNumber} but throws a typed `OUT_OF_RANGE` error (strict paths). */
export function requireSafeNumber(value: bigint, field: string, file?: string): number {
  if (value <= MAX_SAFE) return Number(value);
  throw new Qcow2Error(
    "OUT_OF_RANGE",
    `${field} = ${value} exceeds 2^53-1 and cannot be addressed`,
    {
      field,
      value,
      ...(file === undefined ? {} : { file }),
    },
  );
}

/** `0x`-prefixed lower-case hex for messages and evidence. */
export function hex(value: number | bigint): string {
  return `0x${value.toString(16)}`;
}

/** Signed 64-bit maximum: QEMU passes every offset as an `int64_t` (qcow2_validate_table). */
export const INT64_MAX = (1n << 63n) - 1n;

/**
 * The exact value of a 64-bit field that a decoder may have stored as `NaN`
 * (above 2^53 − 1, see {@link toSafeNumber}): the number itself when it is
 * exact, else the decimal recorded in `outOfRange`.
 */
export function exactField(
  value: number,
  field: string,
  outOfRange: readonly OutOfRangeField[],
): bigint {
  if (Number.isSafeInteger(value)) return BigInt(value);
  const recorded = outOfRange.find((f) => f.field === field);
  return recorded === undefined ? 0n : BigInt(recorded.value);
}
