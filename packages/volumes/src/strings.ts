/**
 * Labels and UUIDs spelled the way util-linux spells them. libblkid keeps a
 * label as bytes: it cuts at the first NUL, trims trailing (and for some
 * fields leading) C-locale white space, and converts UTF-16 with its own
 * encoder. These helpers reproduce those steps on bytes, and only the last
 * step, {@link displayString}, turns bytes into a JavaScript string.
 */
import { hex, isZero, u8 } from "./bytes.js";

const isCSpace = (c: number) => c === 0x20 || (c >= 0x09 && c <= 0x0d);

/** The bytes before the first NUL. */
export function cString(b: Uint8Array): Uint8Array {
  const nul = b.indexOf(0);
  return nul < 0 ? b : b.subarray(0, nul);
}

function rtrim(b: Uint8Array): Uint8Array {
  let end = b.length;
  while (end > 0 && isCSpace(b[end - 1] as number)) end--;
  return b.subarray(0, end);
}

function ltrim(b: Uint8Array): Uint8Array {
  let start = 0;
  while (start < b.length && isCSpace(b[start] as number)) start++;
  return b.subarray(start);
}

/** libblkid's `blkid_probe_set_label`: up to the first NUL, trailing white space trimmed; empty is `null`. */
export function labelBytes(raw: Uint8Array): Uint8Array | null {
  const b = rtrim(cString(raw));
  return b.length === 0 ? null : b;
}

/** libblkid's `blkid_probe_set_id_label`: as {@link labelBytes}, leading white space trimmed too. */
export function idLabelBytes(raw: Uint8Array): Uint8Array | null {
  const b = ltrim(rtrim(cString(raw)));
  return b.length === 0 ? null : b;
}

export type Utf16Order = "le" | "be";

/**
 * util-linux's UTF-16 → UTF-8 encoder (`ul_encode_to_utf8`): stops at a NUL
 * code unit, joins surrogate pairs, encodes a lone surrogate as three bytes
 * (as it does), and stops when the next character would not fit in
 * `capacity - 1` bytes.
 */
export function utf16ToUtf8(src: Uint8Array, order: Utf16Order, capacity: number): Uint8Array {
  const out: number[] = [];
  const unit = (i: number) =>
    order === "le" ? u8(src, i) | (u8(src, i + 1) << 8) : (u8(src, i) << 8) | u8(src, i + 1);
  for (let i = 0; i + 2 <= src.length; i += 2) {
    let c = unit(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 3 < src.length) {
      const c2 = unit(i + 2);
      if (c2 >= 0xdc00 && c2 <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (c2 - 0xdc00);
        i += 2;
      }
    }
    if (c === 0) break;
    const need = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
    if (out.length + need >= capacity) break;
    if (need === 1) out.push(c);
    else if (need === 2) out.push(0xc0 | (c >> 6), 0x80 | (c & 0x3f));
    else if (need === 3) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
    else
      out.push(
        0xf0 | (c >> 18),
        0x80 | ((c >> 12) & 0x3f),
        0x80 | ((c >> 6) & 0x3f),
        0x80 | (c & 0x3f),
      );
  }
  return Uint8Array.from(out);
}

/** libblkid's `blkid_probe_set_utf8label`: UTF-16 converted, trailing white space trimmed. */
export function utf8LabelBytes(raw: Uint8Array, order: Utf16Order): Uint8Array | null {
  return labelBytes(utf16ToUtf8(raw, order, raw.length * 3 + 1));
}

/** libblkid's `blkid_probe_set_utf8_id_label`: as {@link utf8LabelBytes}, leading white space trimmed too. */
export function utf8IdLabelBytes(raw: Uint8Array, order: Utf16Order): Uint8Array | null {
  return idLabelBytes(utf16ToUtf8(raw, order, raw.length * 3 + 1));
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** Length of the valid UTF-8 sequence starting at `i`, or 0 when it is not one. */
function utf8SequenceAt(b: Uint8Array, i: number): number {
  const c = b[i] as number;
  if (c < 0x80) return 1;
  const len =
    c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
  if (len === 0 || i + len > b.length) return 0;
  for (let k = 1; k < len; k++) if (((b[i + k] as number) & 0xc0) !== 0x80) return 0;
  const c1 = b[i + 1] as number;
  if (c === 0xe0 && c1 < 0xa0) return 0; // overlong
  if (c === 0xed && c1 >= 0xa0) return 0; // UTF-16 surrogate
  if (c === 0xf0 && c1 < 0x90) return 0; // overlong
  if (c === 0xf4 && c1 >= 0x90) return 0; // above U+10FFFF
  return len;
}

/**
 * Bytes as a string: UTF-8 where the bytes are valid UTF-8, each other byte
 * as `\xNN` (libblkid keeps FAT and ext labels as raw bytes; a label in a DOS
 * code page stays recognisable and loses nothing).
 *
 * @example
 * ```ts
 * displayString(new Uint8Array([0x41, 0x82])); // "A\\x82"
 * ```
 */
export function displayString(b: Uint8Array): string {
  try {
    return strictUtf8.decode(b);
  } catch {
    let s = "";
    for (let i = 0; i < b.length; ) {
      const n = utf8SequenceAt(b, i);
      if (n === 0) {
        s += `\\x${(b[i] as number).toString(16).padStart(2, "0")}`;
        i++;
      } else {
        s += strictUtf8.decode(b.subarray(i, i + n));
        i += n;
      }
    }
    return s;
  }
}

/** {@link displayString} of optional bytes. */
export const displayOrNull = (b: Uint8Array | null): string | null =>
  b === null ? null : displayString(b);

/** A DCE UUID in libblkid's spelling (lower-case, byte order as stored); all-zero is `null`. */
export function dceUuid(b: Uint8Array): string | null {
  if (b.length < 16 || isZero(b.subarray(0, 16))) return null;
  const h = hex(b.subarray(0, 16));
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * An EFI GUID (first three fields little-endian) in sfdisk's upper-case
 * spelling, e.g. `0FC63DAF-8483-4772-8E79-3D69D8477DE4`.
 */
export function efiGuid(b: Uint8Array): string {
  const h = (i: number) => (u8(b, i) as number).toString(16).padStart(2, "0");
  const s = `${h(3) + h(2) + h(1) + h(0)}-${h(5)}${h(4)}-${h(7)}${h(6)}-${h(8)}${h(9)}-`;
  let tail = "";
  for (let i = 10; i < 16; i++) tail += h(i);
  return (s + tail).toUpperCase();
}
