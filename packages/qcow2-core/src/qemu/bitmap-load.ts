import {
  BITMAP_DIRECTORY_ENTRY_LAYOUT,
  BITMAP_ENTRY_FIXED_SIZE,
} from "../format/bitmap-directory.js";
import { AUTOCLEAR_BITMAPS, hasFeature } from "../format/features.js";
import { decodeLayout } from "../format/layout.js";
import { exactField } from "../format/numbers.js";
import type { Qcow2Info } from "../inspect.js";
import { type ByteSource, readPadded } from "../source/byte-source.js";
import type { OpenRefusal } from "./open-refusal.js";

/** block/qcow2-bitmap.c constants. */
const BME_MAX_TABLE_SIZE = 0x8000000;
const BME_MAX_PHYS_SIZE = 0x20000000;
const BME_MAX_GRANULARITY_BITS = 31;
const BME_MIN_GRANULARITY_BITS = 9;
const BME_MAX_NAME_SIZE = 1023;
const BME_RESERVED_FLAGS = 0xfffffffc;
const BME_FLAG_IN_USE = 1;
const BT_DIRTY_TRACKING_BITMAP = 1;
const MAX_DIRECTORY_SIZE = 1024 * 65535;
const TABLE_ENTRY_RESERVED_HI = 0xff000000;
const TABLE_ENTRY_RESERVED_LO = 0x1fe;

const refuse = (message: string, field: string, value: string | number): OpenRefusal => ({
  code: "INVALID_STRUCTURE",
  message,
  field,
  value: String(value),
});

/** C's `%.*s`: the name up to its first NUL, bytes as Latin-1 (QEMU prints them raw). */
function cName(bytes: Uint8Array): string {
  const nul = bytes.indexOf(0);
  return new TextDecoder("utf-8").decode(nul >= 0 ? bytes.subarray(0, nul) : bytes);
}

/**
 * What QEMU's qcow2_load_dirty_bitmaps refuses when it opens the image (for
 * qemu-img info, map, convert and check alike): the bitmap directory as
 * bitmap_list_load reads it (entry count, sizes, each entry's constraints),
 * then the table of every bitmap not marked in use (reserved bits,
 * alignment, and its size against the disk's). `null` when QEMU loads them.
 * Reads only the directory (≤ 64 MiB, QEMU's bound) and the tables of
 * consistent bitmaps (≤ 1 GiB in QEMU; here read in one piece each only
 * when small, else entry-checked in chunks).
 */
export async function qemuBitmapRefusal(
  source: ByteSource,
  info: Qcow2Info,
): Promise<OpenRefusal | null> {
  const ext = info.bitmaps;
  if (ext === null || info.clusterSize === null) return null;
  // Without the autoclear bit QEMU drops the bitmaps as inconsistent, unread.
  if (!hasFeature(info.autoclearFeatures, AUTOCLEAR_BITMAPS) || ext.nbBitmaps === 0) return null;
  const cs = info.clusterSize;
  const size = exactField(ext.bitmapDirectorySize, "bitmap_directory_size", info.outOfRange);
  if (size === 0n)
    return refuse("Requested bitmap directory size is zero", "bitmap_directory_size", 0);
  if (size > BigInt(MAX_DIRECTORY_SIZE))
    return refuse(
      "Requested bitmap directory size is too big",
      "bitmap_directory_size",
      size.toString(),
    );
  const at = exactField(ext.bitmapDirectoryOffset, "bitmap_directory_offset", info.outOfRange);
  const dir =
    at >= BigInt(source.size)
      ? new Uint8Array(Number(size))
      : await readPadded(source, Number(at), Number(size));
  // bdrv_getlength: the virtual size in whole sectors.
  const length = Math.floor(info.virtualSize / 512) * 512;
  const tables: Array<{ name: string; offset: bigint; entries: number; granularityBits: number }> =
    [];
  let e = 0;
  let count = 0;
  while (e < dir.length) {
    if (e + BITMAP_ENTRY_FIXED_SIZE > dir.length)
      return refuse("Broken bitmap directory", "bitmap directory", e);
    if (++count > ext.nbBitmaps)
      return refuse(
        "More bitmaps found than specified in header extension",
        "nb_bitmaps",
        ext.nbBitmaps,
      );
    const entry = decodeLayout(dir, e, BITMAP_DIRECTORY_ENTRY_LAYOUT);
    const next =
      e + Math.ceil((BITMAP_ENTRY_FIXED_SIZE + entry.name_size + entry.extra_data_size) / 8) * 8;
    if (next > dir.length) return refuse("Broken bitmap directory", "bitmap directory", e);
    if (entry.extra_data_size !== 0)
      return refuse("Bitmap extra data is not supported", "extra_data_size", entry.extra_data_size);
    const nameStart = e + BITMAP_ENTRY_FIXED_SIZE;
    const name = cName(dir.subarray(nameStart, nameStart + entry.name_size));
    const offset = entry.bitmap_table_offset;
    const physBytes = BigInt(entry.bitmap_table_size) * BigInt(cs);
    const inUse = (entry.flags & BME_FLAG_IN_USE) !== 0;
    const broken =
      entry.bitmap_table_size === 0 ||
      offset === 0n ||
      offset % BigInt(cs) !== 0n ||
      entry.bitmap_table_size > BME_MAX_TABLE_SIZE ||
      entry.granularity_bits > BME_MAX_GRANULARITY_BITS ||
      entry.granularity_bits < BME_MIN_GRANULARITY_BITS ||
      (entry.flags & BME_RESERVED_FLAGS) !== 0 ||
      entry.name_size > BME_MAX_NAME_SIZE ||
      entry.type !== BT_DIRTY_TRACKING_BITMAP ||
      physBytes > BigInt(BME_MAX_PHYS_SIZE) ||
      (!inUse && BigInt(length) > (physBytes * 8n) << BigInt(entry.granularity_bits));
    if (broken)
      return refuse(
        `Bitmap '${name}' doesn't satisfy the constraints`,
        "bitmap directory entry",
        name,
      );
    if (!inUse)
      tables.push({
        name,
        offset,
        entries: entry.bitmap_table_size,
        granularityBits: entry.granularity_bits,
      });
    e = next;
  }
  if (count !== ext.nbBitmaps)
    return refuse(
      "Less bitmaps found than specified in header extension",
      "nb_bitmaps",
      ext.nbBitmaps,
    );
  // Tables of bitmaps in use are never read (their data is unusable).
  for (const t of tables) {
    // The block layer refuses a read ending beyond BDRV_MAX_LENGTH.
    if (t.offset + BigInt(t.entries) * 8n > (1n << 63n) - (1n << 30n))
      return refuse(
        `Could not read bitmap_table table from image for bitmap '${t.name}': Input/output error`,
        "bitmap_table_offset",
        t.offset.toString(),
      );
    if (!(await tableEntriesValid(source, t.offset, t.entries, cs)))
      return refuse(
        `Could not read bitmap_table table from image for bitmap '${t.name}': Invalid argument`,
        "bitmap table",
        t.name,
      );
    // load_bitmap_data: the table must have exactly the clusters the bitmap's serialization needs.
    const bits = Math.ceil(length / 2 ** t.granularityBits);
    const bytes = Math.ceil(bits / 64) * 8;
    if (Math.ceil(bytes / cs) !== t.entries)
      return refuse(
        `Could not read bitmap '${t.name}' from image: Invalid argument`,
        "bitmap_table_size",
        t.entries,
      );
  }
  return null;
}

/** check_table_entry over a whole bitmap table; entries past end of file read as zeros (valid). */
async function tableEntriesValid(
  source: ByteSource,
  offset: bigint,
  entries: number,
  cs: number,
): Promise<boolean> {
  if (offset >= BigInt(source.size)) return true;
  const start = Number(offset);
  const CHUNK = 1 << 17; // entries per read: 1 MiB
  for (let i = 0; i < entries; i += CHUNK) {
    const n = Math.min(CHUNK, entries - i);
    if (start + i * 8 >= source.size) return true;
    const bytes = await readPadded(source, start + i * 8, n * 8);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let k = 0; k < n; k++) {
      const hi = view.getUint32(k * 8);
      const lo = view.getUint32(k * 8 + 4);
      if ((hi & TABLE_ENTRY_RESERVED_HI) !== 0 || (lo & TABLE_ENTRY_RESERVED_LO) !== 0)
        return false;
      const dataOffset = (hi & 0x00ffffff) * 2 ** 32 + ((lo & 0xfffffe00) >>> 0);
      if (dataOffset !== 0 && ((lo & 1) !== 0 || dataOffset % cs !== 0)) return false;
    }
  }
  return true;
}
