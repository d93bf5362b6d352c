import { LIMITS } from "../limits.js";
import {
  HEADER_EXT_BACKING_FORMAT,
  HEADER_EXT_BITMAPS,
  HEADER_EXT_END,
  HEADER_EXT_EXTERNAL_DATA_FILE,
  HEADER_EXT_FEATURE_NAME_TABLE,
  HEADER_EXT_FULL_DISK_ENCRYPTION,
} from "./constants.js";
import type { FeatureKind } from "./features.js";
import { decodeLayout, type Layout } from "./layout.js";
import { type OutOfRangeField, toSafeNumber } from "./numbers.js";
import type { HeaderProblem } from "./problems.js";
import { decodeString } from "./strings.js";

/** Names of the extension types QEMU defines (qcow2.txt "Header extensions"). */
export const EXTENSION_NAMES: Readonly<Record<number, string>> = {
  [HEADER_EXT_BACKING_FORMAT]: "backing-format",
  [HEADER_EXT_FEATURE_NAME_TABLE]: "feature-name-table",
  [HEADER_EXT_BITMAPS]: "bitmaps",
  [HEADER_EXT_FULL_DISK_ENCRYPTION]: "full-disk-encryption",
  [HEADER_EXT_EXTERNAL_DATA_FILE]: "external-data-file",
};

/** One header extension as found in cluster 0. */
export interface HeaderExtension {
  /** The 32-bit type. */
  type: number;
  /** `0x…` hex of the type. */
  typeHex: string;
  /** Known name, or "unknown". */
  name: string;
  /** Host offset of the extension's 8-byte type/length header. */
  offset: number;
  /** Length of the data in bytes (excluding padding). */
  length: number;
}

/** An entry of the feature name table extension (48 bytes each). */
export interface FeatureNameEntry {
  kind: FeatureKind | "unknown";
  /** Raw type byte: 0 incompatible, 1 compatible, 2 autoclear. */
  type: number;
  bit: number;
  name: string;
}

/** The bitmaps extension (qcow2.txt "Bitmaps extension"). */
export interface BitmapsExtension {
  nbBitmaps: number;
  /** Must be zero (QEMU refuses the image otherwise). */
  reserved32: number;
  bitmapDirectorySize: number;
  bitmapDirectoryOffset: number;
}

/** The full-disk-encryption header pointer (qcow2.txt "Full disk encryption header pointer"). */
export interface FullDiskEncryptionExtension {
  /** Host offset of the encryption (LUKS) header. */
  offset: number;
  /** Length of the encryption header in bytes. */
  length: number;
}

/** Everything the header extension area carries. */
export interface HeaderExtensions {
  extensions: HeaderExtension[];
  backingFormat: string | null;
  featureNameTable: FeatureNameEntry[];
  bitmaps: BitmapsExtension | null;
  fullDiskEncryption: FullDiskEncryptionExtension | null;
  externalDataFile: string | null;
}

const BITMAPS_LAYOUT = {
  nb_bitmaps: { offset: 0, type: "u32" },
  reserved32: { offset: 4, type: "u32" },
  bitmap_directory_size: { offset: 8, type: "u64" },
  bitmap_directory_offset: { offset: 16, type: "u64" },
} as const satisfies Layout;

const FDE_LAYOUT = {
  offset: { offset: 0, type: "u64" },
  length: { offset: 8, type: "u64" },
} as const satisfies Layout;

const FEATURE_NAME_ENTRY_SIZE = 48;
const FEATURE_KINDS: readonly FeatureKind[] = ["incompatible", "compatible", "autoclear"];

/**
 * Walks the header extensions in `bytes` (the start of cluster 0) from
 * `start` up to `end`, as QEMU does: stop at the end marker, refuse an
 * extension whose length runs past `end` (recorded as a problem).
 */
export function decodeExtensions(
  bytes: Uint8Array,
  start: number,
  end: number,
  problems: HeaderProblem[],
  outOfRange: OutOfRangeField[],
): HeaderExtensions {
  const out: HeaderExtensions = {
    extensions: [],
    backingFormat: null,
    featureNameTable: [],
    bitmaps: null,
    fullDiskEncryption: null,
    externalDataFile: null,
  };
  const limit = Math.min(end, bytes.length);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = start;
  while (offset + 8 <= limit) {
    if (out.extensions.length >= LIMITS.maxHeaderExtensions) {
      problems.push({
        field: "header extensions",
        value: String(out.extensions.length),
        message: `more than ${LIMITS.maxHeaderExtensions} header extensions; the rest were not walked`,
        offset,
      });
      break;
    }
    const type = view.getUint32(offset);
    const length = view.getUint32(offset + 4);
    if (type === HEADER_EXT_END) break;
    const dataStart = offset + 8;
    const ext: HeaderExtension = {
      type,
      typeHex: `0x${type.toString(16).padStart(8, "0")}`,
      name: EXTENSION_NAMES[type] ?? "unknown",
      offset,
      length,
    };
    if (length > limit - dataStart) {
      out.extensions.push(ext);
      problems.push({
        field: "header extension length",
        value: String(length),
        message: `header extension ${ext.typeHex} at offset ${offset} claims ${length} bytes, past the end of the header cluster`,
        offset,
      });
      break;
    }
    out.extensions.push(ext);
    const data = bytes.subarray(dataStart, dataStart + length);
    decodeKnownExtension(type, data, dataStart, out, problems, outOfRange);
    // Extension data is padded to a multiple of 8 bytes.
    offset = dataStart + Math.ceil(length / 8) * 8;
  }
  return out;
}

function decodeKnownExtension(
  type: number,
  data: Uint8Array,
  at: number,
  out: HeaderExtensions,
  problems: HeaderProblem[],
  outOfRange: OutOfRangeField[],
): void {
  switch (type) {
    case HEADER_EXT_BACKING_FORMAT:
      out.backingFormat = decodeString(data, LIMITS.maxExtensionString);
      return;
    case HEADER_EXT_EXTERNAL_DATA_FILE:
      out.externalDataFile = decodeString(data, LIMITS.maxExtensionString);
      return;
    case HEADER_EXT_FEATURE_NAME_TABLE: {
      const count = Math.min(
        Math.floor(data.length / FEATURE_NAME_ENTRY_SIZE),
        LIMITS.maxFeatureNameEntries,
      );
      for (let i = 0; i < count; i++) {
        const e = data.subarray(i * FEATURE_NAME_ENTRY_SIZE, (i + 1) * FEATURE_NAME_ENTRY_SIZE);
        const typeByte = e[0] ?? 0;
        out.featureNameTable.push({
          kind: FEATURE_KINDS[typeByte] ?? "unknown",
          type: typeByte,
          bit: e[1] ?? 0,
          name: decodeString(e.subarray(2), 46),
        });
      }
      return;
    }
    case HEADER_EXT_BITMAPS: {
      if (data.length < 24) {
        problems.push({
          field: "bitmaps extension",
          value: String(data.length),
          message: `bitmaps extension is ${data.length} bytes, shorter than 24`,
          offset: at,
        });
        return;
      }
      const b = decodeLayout(data, 0, BITMAPS_LAYOUT);
      out.bitmaps = {
        nbBitmaps: b.nb_bitmaps,
        reserved32: b.reserved32,
        bitmapDirectorySize: toSafeNumber(
          b.bitmap_directory_size,
          "bitmap_directory_size",
          outOfRange,
        ),
        bitmapDirectoryOffset: toSafeNumber(
          b.bitmap_directory_offset,
          "bitmap_directory_offset",
          outOfRange,
        ),
      };
      return;
    }
    case HEADER_EXT_FULL_DISK_ENCRYPTION: {
      if (data.length < 16) {
        problems.push({
          field: "full disk encryption extension",
          value: String(data.length),
          message: `full-disk-encryption extension is ${data.length} bytes, shorter than 16`,
          offset: at,
        });
        return;
      }
      const f = decodeLayout(data, 0, FDE_LAYOUT);
      out.fullDiskEncryption = {
        offset: toSafeNumber(f.offset, "crypto_header.offset", outOfRange),
        length: toSafeNumber(f.length, "crypto_header.length", outOfRange),
      };
      return;
    }
  }
}
