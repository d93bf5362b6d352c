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
