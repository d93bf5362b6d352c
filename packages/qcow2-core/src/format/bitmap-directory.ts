import { decodeLayout, type Layout } from "./layout.js";
import { decodeString } from "./strings.js";

/** Fixed part of a bitmap directory entry (qcow2.txt "Bitmap directory"), 24 bytes. */
export const BITMAP_DIRECTORY_ENTRY_LAYOUT = {
  bitmap_table_offset: { offset: 0, type: "u64" },
  bitmap_table_size: { offset: 8, type: "u32" },
  flags: { offset: 12, type: "u32" },
  type: { offset: 16, type: "u8" },
  granularity_bits: { offset: 17, type: "u8" },
  name_size: { offset: 18, type: "u16" },
  extra_data_size: { offset: 20, type: "u32" },
} as const satisfies Layout;

export const BITMAP_ENTRY_FIXED_SIZE = 24;

/** Bitmap flags (qcow2.txt "Bitmap directory", bytes 12–15). */
export const BME_FLAG_IN_USE = 1 << 0;
export const BME_FLAG_AUTO = 1 << 1;
export const BME_FLAG_EXTRA_DATA_COMPATIBLE = 1 << 2;

/** One persistent dirty bitmap described by the bitmap directory. */
export interface BitmapEntry {
  /** Host offset of the directory entry. */
  offset: number;
  name: string;
  /** Raw flags. */
  flags: number;
  inUse: boolean;
  auto: boolean;
  /** 1 = dirty tracking bitmap. */
  type: number;
  granularityBits: number;
  /** 2^granularity_bits bytes of guest data per bit (`null` if the exponent is absurd). */
  granularity: number | null;
  bitmapTableOffset: bigint;
  bitmapTableSize: number;
  extraDataSize: number;
}

/**
 * Decodes every entry of a bitmap directory held in `bytes` (which starts at
 * host offset `base`). Stops at the first entry that does not fit; returns
 * the entries that did and whether the directory was cut short.
 */
export function decodeBitmapDirectory(
  bytes: Uint8Array,
  base: number,
  count: number,
): { entries: BitmapEntry[]; truncated: boolean } {
  const entries: BitmapEntry[] = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    if (at + BITMAP_ENTRY_FIXED_SIZE > bytes.length) return { entries, truncated: true };
    const e = decodeLayout(bytes, at, BITMAP_DIRECTORY_ENTRY_LAYOUT);
    const nameStart = at + BITMAP_ENTRY_FIXED_SIZE + e.extra_data_size;
    const nameEnd = nameStart + e.name_size;
    if (nameEnd > bytes.length) return { entries, truncated: true };
    entries.push({
      offset: base + at,
      name: decodeString(bytes.subarray(nameStart, nameEnd), 65535),
      flags: e.flags,
      inUse: (e.flags & BME_FLAG_IN_USE) !== 0,
      auto: (e.flags & BME_FLAG_AUTO) !== 0,
      type: e.type,
      granularityBits: e.granularity_bits,
      granularity: e.granularity_bits <= 52 ? 2 ** e.granularity_bits : null,
      bitmapTableOffset: e.bitmap_table_offset,
      bitmapTableSize: e.bitmap_table_size,
      extraDataSize: e.extra_data_size,
    });
    // Entries are padded to a multiple of 8 bytes.
    at = Math.ceil(nameEnd / 8) * 8;
  }
  return { entries, truncated: false };
}
