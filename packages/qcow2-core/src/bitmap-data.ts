import type { BitmapDirectory } from "./bitmaps.js";
import { Qcow2Error } from "./errors.js";
import type { BitmapEntry } from "./format/bitmap-directory.js";
import { offsetField } from "./format/entry-words.js";
import type { Qcow2Info } from "./inspect.js";
import type { GuestRange } from "./reader/layer.js";
import { type ByteSource, readExact, readPadded } from "./source/byte-source.js";

/** QEMU's bounds on a persistent bitmap (block/qcow2-bitmap.c). */
export const BME_MAX_TABLE_SIZE = 0x8000000;
export const BME_MAX_PHYS_SIZE = 0x20000000;
export const BME_MIN_GRANULARITY_BITS = 9;
export const BME_MAX_GRANULARITY_BITS = 31;
/** Bitmap table entry bit 0 with offset 0: the cluster reads as all ones (qcow2.txt "Bitmap table"). */
const BME_TABLE_ENTRY_FLAG_ALL_ONES = 1;
/** Bitmap table entries read at once (64 KiB of table). */
const TABLE_PIECE = 8192;

/** Options for {@link bitmapExtents}. */
export interface BitmapExtentOptions {
  /**
   * Read a bitmap QEMU calls inconsistent (flagged in-use, or the image's
   * bitmaps extension left by a writer without bitmap support). Off by
   * default: its contents are not trustworthy, and QEMU refuses to load it.
   */
  allowInconsistent?: boolean;
}

/**
 * The bitmap named `name`, or a typed `BITMAP_NOT_FOUND` error.
 *
 * @example
 * ```ts
 * const bitmap = findBitmap(await readBitmaps(source, info), "backup-0");
 * ```
 */
export function findBitmap(directory: BitmapDirectory, name: string): BitmapEntry {
  const found = directory.bitmaps.find((b) => b.name === name);
  if (found === undefined) {
    throw new Qcow2Error("BITMAP_NOT_FOUND", `no persistent bitmap named ${JSON.stringify(name)}`, {
      field: "bitmap",
      value: name,
    });
  }
  return found;
}

/** Why QEMU would not trust `bitmap` (in-use, or the directory marked inconsistent), else `null`. */
export function bitmapDistrust(directory: BitmapDirectory, bitmap: BitmapEntry): string | null {
  if (bitmap.inUse)
    return "flagged in-use: the image was not closed cleanly while the bitmap was loaded";
  if (!directory.consistent)
    return "the bitmaps extension was left by a writer without bitmap support (autoclear bit clear)";
  return null;
}

/**
 * The guest ranges bitmap `bitmap` marks dirty, in order and coalesced
 * (qcow2.txt "Bitmaps": bit k covers guest bytes `[k·g, (k+1)·g)`, least
 * significant bit first). Reads the bitmap table and data clusters a piece at
 * a time: constant memory whatever the disk size. A bitmap QEMU would refuse
 * is a typed error (`BITMAP_INCONSISTENT`, `INVALID_STRUCTURE`).
 *
 * @example
 * ```ts
 * const dir = await readBitmaps(source, info);
 * for await (const r of bitmapExtents(source, info, dir, findBitmap(dir, "backup-0")))
 *   console.log(r.start, r.length);
 * ```
 */
export async function* bitmapExtents(
  source: ByteSource,
  info: Qcow2Info,
  directory: BitmapDirectory,
  bitmap: BitmapEntry,
  options: BitmapExtentOptions = {},
): AsyncGenerator<GuestRange> {
  const distrust = bitmapDistrust(directory, bitmap);
  if (distrust !== null && !options.allowInconsistent) {
    throw new Qcow2Error(
      "BITMAP_INCONSISTENT",
      `bitmap ${JSON.stringify(bitmap.name)} is not trustworthy: ${distrust}`,
      { field: "flags", value: bitmap.flags, offset: bitmap.offset },
    );
  }
  const layout = bitmapLayout(info, bitmap);
  const { clusterSize, granularity, bits, tableEntries } = layout;
  const size = info.virtualSize;
  let runStart = -1;
  let runEnd = -1;
  const bitsPerCluster = clusterSize * 8;
  for (let first = 0; first < tableEntries; first += TABLE_PIECE) {
    const n = Math.min(TABLE_PIECE, tableEntries - first);
    const table = await readExact(
      source,
      layout.tableOffset + first * 8,
      n * 8,
      `bitmap table of ${JSON.stringify(bitmap.name)}`,
    );
    const view = new DataView(table.buffer, table.byteOffset, table.byteLength);
    for (let i = 0; i < n; i++) {
      const index = first + i;
      const hi = view.getUint32(i * 8);
      const lo = view.getUint32(i * 8 + 4);
      const entryOffset = layout.tableOffset + index * 8;
      // Bits 1–8 and 56–63 are reserved (qcow2.txt "Bitmap table").
      if ((hi & 0xff000000) !== 0 || (lo & 0x1fe) !== 0) {
        throw new Qcow2Error(
          "INVALID_STRUCTURE",
          `bitmap ${JSON.stringify(bitmap.name)}: table entry ${index} has reserved bits set`,
          { field: "bitmap_table_entry", offset: entryOffset },
        );
      }
      const host = offsetField(hi, lo);
      const firstBit = index * bitsPerCluster;
      const lastBit = Math.min(bits, firstBit + bitsPerCluster);
      let data: Uint8Array | null = null;
      let fill = 0;
      if (host === 0) {
        fill = (lo & BME_TABLE_ENTRY_FLAG_ALL_ONES) !== 0 ? 0xff : 0;
      } else {
        if ((lo & BME_TABLE_ENTRY_FLAG_ALL_ONES) !== 0 || host % clusterSize !== 0) {
          throw new Qcow2Error(
            "INVALID_STRUCTURE",
            `bitmap ${JSON.stringify(bitmap.name)}: table entry ${index} (offset ${host}) is not a valid cluster`,
            { field: "bitmap_table_entry", value: host, offset: entryOffset },
          );
        }
        if (host > Number.MAX_SAFE_INTEGER) {
          throw new Qcow2Error(
            "OUT_OF_RANGE",
            `bitmap ${JSON.stringify(bitmap.name)}: table entry ${index} offset exceeds 2^53-1`,
            { field: "bitmap_table_entry", offset: entryOffset },
          );
        }
        // Past end of file QEMU's file driver reads zeros, as the reader does.
        data = await readPadded(source, host, Math.ceil((lastBit - firstBit) / 8));
      }
      if (data === null) {
        // No host cluster: all clean, or all dirty with bit 0 set (QEMU only writes the former, and reads both).
        if (fill === 0xff) {
          if (runEnd !== firstBit * granularity) {
            if (runStart >= 0) yield range(runStart, runEnd, size);
            runStart = firstBit * granularity;
          }
          runEnd = lastBit * granularity;
        }
        continue;
      }
      for (let bit = firstBit; bit < lastBit; ) {
        const byte = data[(bit - firstBit) >> 3] as number;
        // Whole bytes at once where possible: most of a bitmap is all clean or all dirty.
        if ((bit & 7) === 0 && bit + 8 <= lastBit && (byte === 0 || byte === 0xff)) {
          if (byte === 0xff) {
            if (runEnd !== bit * granularity) {
              if (runStart >= 0) yield range(runStart, runEnd, size);
              runStart = bit * granularity;
            }
            runEnd = (bit + 8) * granularity;
          }
          bit += 8;
          continue;
        }
        if ((byte >> (bit & 7)) & 1) {
          if (runEnd !== bit * granularity) {
            if (runStart >= 0) yield range(runStart, runEnd, size);
            runStart = bit * granularity;
          }
          runEnd = (bit + 1) * granularity;
        }
        bit++;
      }
    }
  }
  if (runStart >= 0) yield range(runStart, runEnd, size);
}

function range(start: number, end: number, size: number): GuestRange {
  return { start, length: Math.min(end, size) - start };
}

/** Where a bitmap's table is and how many bits it holds, checked as QEMU checks it. */
export function bitmapLayout(
  info: Qcow2Info,
  bitmap: BitmapEntry,
): {
  clusterSize: number;
  granularity: number;
  bits: number;
  tableEntries: number;
  tableOffset: number;
} {
  const clusterSize = info.clusterSize;
  const invalid = (message: string, field: string, value: string | number) =>
    new Qcow2Error("INVALID_STRUCTURE", `bitmap ${JSON.stringify(bitmap.name)}: ${message}`, {
      field,
      value,
      offset: bitmap.offset,
    });
  if (clusterSize === null)
    throw invalid("the image has no valid cluster size", "cluster_bits", info.clusterBits);
  if (bitmap.type !== 1)
    throw invalid(`type ${bitmap.type} is not a dirty tracking bitmap`, "type", bitmap.type);
  if (
    bitmap.granularityBits < BME_MIN_GRANULARITY_BITS ||
    bitmap.granularityBits > BME_MAX_GRANULARITY_BITS
  ) {
    throw invalid(
      `granularity_bits ${bitmap.granularityBits} is outside ${BME_MIN_GRANULARITY_BITS}–${BME_MAX_GRANULARITY_BITS}`,
      "granularity_bits",
      bitmap.granularityBits,
    );
  }
  const granularity = 2 ** bitmap.granularityBits;
  const bits = Math.ceil(info.virtualSize / granularity);
  const bytes = Math.ceil(bits / 8);
  if (bytes > BME_MAX_PHYS_SIZE)
    throw invalid(
      `${bytes} bytes of bitmap data exceed QEMU's limit`,
      "granularity_bits",
      bitmap.granularityBits,
    );
  const tableEntries = Math.ceil(bytes / clusterSize);
  if (bitmap.bitmapTableSize > BME_MAX_TABLE_SIZE || bitmap.bitmapTableSize < tableEntries) {
    throw invalid(
      `bitmap_table_size ${bitmap.bitmapTableSize} does not fit a ${info.virtualSize}-byte disk (${tableEntries} entries needed)`,
      "bitmap_table_size",
      bitmap.bitmapTableSize,
    );
  }
  const tableOffset = bitmap.bitmapTableOffset;
  if (
    tableOffset > BigInt(Number.MAX_SAFE_INTEGER) ||
    Number(tableOffset) % clusterSize !== 0 ||
    tableOffset === 0n
  ) {
    throw invalid(
      `bitmap_table_offset ${tableOffset} is not a valid cluster`,
      "bitmap_table_offset",
      tableOffset.toString(),
    );
  }
  return { clusterSize, granularity, bits, tableEntries, tableOffset: Number(tableOffset) };
}
