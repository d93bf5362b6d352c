/**
 * Bounds-safe little/big-endian field readers over a byte array. Every
 * decoder checks its buffer's length once, up front; these helpers then
 * read what is there and answer 0 past the end instead of throwing, so a
 * short buffer can never surface as a `RangeError`.
 */

export const u8 = (b: Uint8Array, off: number): number => b[off] ?? 0;

export const le16 = (b: Uint8Array, off: number): number => u8(b, off) | (u8(b, off + 1) << 8);

export const be16 = (b: Uint8Array, off: number): number => (u8(b, off) << 8) | u8(b, off + 1);

export const le32 = (b: Uint8Array, off: number): number =>
  (u8(b, off) | (u8(b, off + 1) << 8) | (u8(b, off + 2) << 16) | (u8(b, off + 3) << 24)) >>> 0;

export const be32 = (b: Uint8Array, off: number): number =>
  ((u8(b, off) << 24) | (u8(b, off + 1) << 16) | (u8(b, off + 2) << 8) | u8(b, off + 3)) >>> 0;

/** A signed 32-bit little-endian value. */
export const le32s = (b: Uint8Array, off: number): number => le32(b, off) | 0;

/** A 64-bit little-endian field, exactly. */
export const le64 = (b: Uint8Array, off: number): bigint =>
  (BigInt(le32(b, off + 4)) << 32n) | BigInt(le32(b, off));

/** A 64-bit big-endian field, exactly. */
export const be64 = (b: Uint8Array, off: number): bigint =>
  (BigInt(be32(b, off)) << 32n) | BigInt(be32(b, off + 4));

/** A bigint as a number when it is exactly representable, else `null`. */
export function safeNumber(v: bigint): number | null {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= 0n ? Number(v) : null;
}

/** `len` bytes at `off` (shorter at the end of `b`), never a view past it. */
export const slice = (b: Uint8Array, off: number, len: number): Uint8Array =>
  b.subarray(Math.min(off, b.length), Math.min(off + len, b.length));

/** Whether `b` holds exactly `magic` (an ASCII/latin-1 string) at `off`. */
export function hasMagic(b: Uint8Array, off: number, magic: string): boolean {
  if (off < 0 || off + magic.length > b.length) return false;
  for (let i = 0; i < magic.length; i++) if (b[off + i] !== magic.charCodeAt(i)) return false;
  return true;
}

/** Whether every byte of `b` is zero. */
export function isZero(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

/** Lower-case hex of `b`. */
export function hex(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += (b[i] as number).toString(16).padStart(2, "0");
  return s;
}

/** A latin-1 string of the bytes (one char per byte), for magic comparisons and ASCII fields. */
export function latin1(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i] as number);
  return s;
}
