import { type BitmapEntry, decodeBitmapDirectory } from "./format/bitmap-directory.js";
import { AUTOCLEAR_BITMAPS, hasFeature } from "./format/features.js";
import type { HeaderProblem } from "./format/problems.js";
import type { Qcow2Info } from "./inspect.js";
import { type ByteSource, readSafely } from "./source/byte-source.js";

/** QEMU's QCOW2_MAX_BITMAPS and QCOW2_MAX_BITMAP_DIRECTORY_SIZE (block/qcow2.h). */
export const MAX_BITMAPS = 65535;
export const MAX_BITMAP_DIRECTORY_SIZE = 1024 * MAX_BITMAPS;

/** The persistent bitmaps of an image, as far as they could be read. */
export interface BitmapDirectory {
  bitmaps: BitmapEntry[];
  /**
   * False when the autoclear "bitmaps" bit is clear: a program without bitmap
   * support wrote the image, and QEMU treats every bitmap as inconsistent.
   */
  consistent: boolean;
  problems: HeaderProblem[];
}

/** Reads the bitmap directory named by the bitmaps header extension. */
export async function readBitmaps(source: ByteSource, info: Qcow2Info): Promise<BitmapDirectory> {
  const out: BitmapDirectory = { bitmaps: [], consistent: true, problems: [] };
  const ext = info.bitmaps;
  if (ext === null) return out;
  out.consistent = hasFeature(info.autoclearFeatures, AUTOCLEAR_BITMAPS);
  const { bitmapDirectoryOffset: offset, bitmapDirectorySize: size, nbBitmaps } = ext;
  if (nbBitmaps > MAX_BITMAPS || size > MAX_BITMAP_DIRECTORY_SIZE || !Number.isFinite(offset)) {
    out.problems.push({
      field: "bitmaps extension",
      value: `${nbBitmaps} bitmaps, ${size} bytes`,
      message: `bitmap directory (${nbBitmaps} bitmaps, ${size} bytes at ${offset}) exceeds QEMU's limits`,
    });
    return out;
  }
  if (offset + size > source.size) {
    out.problems.push({
      field: "bitmap_directory_offset",
      value: String(offset),
      message: `bitmap directory at ${offset} (+${size}) extends past end of file`,
      offset,
    });
    return out;
  }
  const bytes = await readSafely(source, offset, size);
  const dir = decodeBitmapDirectory(bytes, offset, nbBitmaps);
  out.bitmaps = dir.entries;
  if (dir.truncated) {
    out.problems.push({
      field: "bitmap directory",
      value: String(dir.entries.length),
      message: `bitmap directory holds ${dir.entries.length} of ${nbBitmaps} entries`,
      offset,
    });
  }
  return out;
}
