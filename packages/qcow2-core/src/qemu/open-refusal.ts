import type { Qcow2ErrorCode } from "../errors.js";
import {
  AUTOCLEAR_DATA_FILE_RAW,
  hasFeature,
  INCOMPAT_COMPRESSION_TYPE,
  INCOMPAT_EXTENDED_L2,
  INCOMPAT_EXTERNAL_DATA_FILE,
} from "../format/features.js";
import { l2EntrySize } from "../format/l2-entry.js";
import { exactField } from "../format/numbers.js";
import { validateTable } from "../format/validate-table.js";
import type { Qcow2Info } from "../inspect.js";
import { LIMITS } from "../limits.js";
import type { SnapshotTable } from "../snapshots.js";

/** QEMU's BDRV_MAX_LENGTH: INT64_MAX aligned down to 1 GiB; reads ending beyond it fail with EIO. */
const BDRV_MAX_LENGTH = (1n << 63n) - (1n << 30n);

/** Why QEMU will not open an image, in QEMU's words. */
export interface OpenRefusal {
  code: Qcow2ErrorCode;
  /** QEMU's message (block/qcow2.c qcow2_do_open), e.g. "Active L1 table offset invalid". */
  message: string;
  /** The header field at fault (spec name). */
  field: string;
  /** Its value, exactly (64-bit values as decimal strings). */
  value: string;
}

/**
 * How the image is opened: `"check"` as `qemu-img check` opens it (QEMU
 * skips the snapshot table then and checks it itself), `"read"` as
 * `qemu-img info`, `map` and `convert` open it.
 */
export type OpenMode = "check" | "read";

const refuse = (
  code: Qcow2ErrorCode,
  message: string,
  field: string,
  value: string | number | bigint,
): OpenRefusal => ({ code, message, field, value: String(value) });

/**
 * The first reason QEMU 7.2 gives for refusing to open a QCOW2 (v2/v3) image,
 * following qcow2_do_open's order — header fields, feature bits, the
 * refcount, snapshot and L1 tables (qcow2_validate_table), the size against
 * the L1 table, header extensions, the data file, the backing file name and,
 * when reading, the snapshot table — or `null` when QEMU opens it.
 *
 * A table that lies past end of file is not a reason: QEMU reads it as
 * zeros, and `check` reports it. That is why offsets are compared at their
 * full 64-bit width here, never as rounded numbers.
 *
 * @example
 * ```ts
 * const why = qemuOpenRefusal(info, source.size, "read", await readSnapshots(source, info));
 * if (why) console.log(`qemu-img: Could not open: ${why.message}`);
 * ```
 */
export function qemuOpenRefusal(
  info: Qcow2Info,
  mode: OpenMode,
  snapshots?: SnapshotTable,
): OpenRefusal | null {
  if (info.version === 1) return qcow1Refusal(info);
  const cs = info.clusterSize;
  if (cs === null)
    return refuse(
      "CLUSTER_BITS_OUT_OF_RANGE",
      `Unsupported cluster size: 2^${info.clusterBits}`,
      "cluster_bits",
      info.clusterBits,
    );
  if (info.version === 3 && info.headerLength < 104)
    return refuse(
      "INVALID_STRUCTURE",
      "qcow2 header too short",
      "header_length",
      info.headerLength,
    );
  if (info.headerLength > cs)
    return refuse(
      "INVALID_STRUCTURE",
      "qcow2 header exceeds cluster size",
      "header_length",
      info.headerLength,
    );
  const backingOffset = exactField(
    info.backingFile?.offset ?? 0,
    "backing_file_offset",
    info.outOfRange,
  );
  if (backingOffset > BigInt(cs))
    return refuse(
      "INVALID_STRUCTURE",
      "Invalid backing file offset",
      "backing_file_offset",
      backingOffset,
    );

  const compressionBit = hasFeature(info.incompatibleFeatures, INCOMPAT_COMPRESSION_TYPE);
  if (info.compressionType > 1)
    return refuse(
      "UNSUPPORTED_FEATURE",
      `qcow2: unknown compression type: ${info.compressionType}`,
      "compression_type",
      info.compressionType,
    );
  if (info.compressionType === 0 && compressionBit)
    return refuse(
      "INVALID_STRUCTURE",
      "qcow2: Compression type incompatible feature bit must not be set",
      "incompatible_features",
      info.incompatibleFeatures.value,
    );
  if (info.compressionType === 1 && !compressionBit)
    return refuse(
      "INVALID_STRUCTURE",
      "qcow2: Compression type incompatible feature bit must be set",
      "incompatible_features",
      info.incompatibleFeatures.value,
    );
  if (info.incompatibleFeatures.unknownBits.length > 0)
    return refuse(
      "UNSUPPORTED_FEATURE",
      unsupportedFeatures(info),
      "incompatible_features",
      info.incompatibleFeatures.value,
    );
  if (info.refcountOrder > 6)
    return refuse(
      "INVALID_STRUCTURE",
      "Reference count entry width too large; may not exceed 64 bits",
      "refcount_order",
      info.refcountOrder,
    );
  if (info.refcountTableClusters === 0 && mode === "read")
    return refuse(
      "INVALID_STRUCTURE",
      "Image does not contain a reference count table",
      "refcount_table_clusters",
      0,
    );
  const table = (
    field: string,
    value: number,
    entries: number,
    entryLength: number,
    maxBytes: number,
    name: string,
  ): OpenRefusal | null => {
    const offset = exactField(value, field, info.outOfRange);
    const message = validateTable(offset, entries, entryLength, maxBytes, cs, name);
    if (message === null) return null;
    const code = !message.endsWith("too large")
      ? "INVALID_STRUCTURE"
      : field === "l1_table_offset"
        ? "L1_TOO_LARGE"
        : "LIMIT_EXCEEDED";
    return refuse(code, message, field, offset);
  };
  const refcountTable = table(
    "refcount_table_offset",
    info.refcountTableOffset,
    info.refcountTableClusters,
    cs,
    LIMITS.maxRefcountTableBytes,
    "Reference count table",
  );
  if (refcountTable !== null) return refcountTable;
  if (mode === "read") {
    const snapshotTable = table(
      "snapshots_offset",
      info.snapshotsOffset,
      info.snapshotCount,
      40,
      40 * LIMITS.maxSnapshots,
      "Snapshot table",
    );
    if (snapshotTable !== null) return snapshotTable;
  }
  const l1 = table(
    "l1_table_offset",
    info.l1TableOffset,
    info.l1Size,
    8,
    LIMITS.maxL1Entries * 8,
    "Active L1 table",
  );
  if (l1 !== null) return l1;
  // The block layer refuses reads ending beyond BDRV_MAX_LENGTH (EIO), and QEMU reads the L1 table at open.
  const l1At = exactField(info.l1TableOffset, "l1_table_offset", info.outOfRange);
  if (info.l1Size > 0 && l1At + BigInt(info.l1Size) * 8n > BDRV_MAX_LENGTH)
    return refuse(
      "INVALID_STRUCTURE",
      "Could not read L1 table: Input/output error",
      "l1_table_offset",
      l1At,
    );

  // size_to_l1: the L1 entries the virtual size needs.
  const size = exactField(info.virtualSize, "size", info.outOfRange);
  const entryBits = Math.log2(
    l2EntrySize(hasFeature(info.incompatibleFeatures, INCOMPAT_EXTENDED_L2)),
  );
  const shift = BigInt(info.clusterBits + info.clusterBits - entryBits);
  const l1Needed = (size + (1n << shift) - 1n) >> shift;
  if (l1Needed > 0x7fffffffn) return refuse("LIMIT_EXCEEDED", "Image is too big", "size", size);
  if (BigInt(info.l1Size) < l1Needed)
    return refuse("INVALID_STRUCTURE", "L1 table is too small", "l1_size", info.l1Size);

  const extension = extensionRefusal(info, cs);
  if (extension !== null) return extension;

  const dataFileBit = hasFeature(info.incompatibleFeatures, INCOMPAT_EXTERNAL_DATA_FILE);
  if (dataFileBit && info.externalDataFile === null)
    return refuse(
      "UNSUPPORTED_FEATURE",
      "'data-file' is required for this image",
      "incompatible_features",
      info.incompatibleFeatures.value,
    );
  if (!dataFileBit && hasFeature(info.autoclearFeatures, AUTOCLEAR_DATA_FILE_RAW))
    return refuse(
      "INVALID_STRUCTURE",
      "data-file-raw requires a data file",
      "autoclear_features",
      info.autoclearFeatures.value,
    );
  // Only legacy AES needs no header: any other method without the header pointer cannot be set up.
  if (info.encryptionMethod > 1 && info.fullDiskEncryption === null)
    return refuse(
      "INVALID_STRUCTURE",
      `Missing CRYPTO header for crypt method ${info.encryptionMethod}`,
      "crypt_method",
      info.encryptionMethod,
    );
  const backing = info.backingFile;
  if (backing !== null && backingOffset !== 0n) {
    const room = Math.min(LIMITS.maxBackingFileName, cs - Number(backingOffset));
    if (backing.size > room)
      return refuse(
        "INVALID_STRUCTURE",
        "Backing file name too long",
        "backing_file_size",
        backing.size,
      );
  }
  if (mode === "read" && snapshots?.qemuError) {
    const e = snapshots.qemuError;
    return refuse(
      e.message.startsWith("Too much") || e.message.endsWith("too big")
        ? "LIMIT_EXCEEDED"
        : "INVALID_STRUCTURE",
      e.message,
      e.field,
      e.value,
    );
  }
  return null;
}

/** report_unsupported_feature: names from the image's own feature table, then the unknown rest. */
function unsupportedFeatures(info: Qcow2Info): string {
  let mask = 0n;
  for (const bit of info.incompatibleFeatures.unknownBits) mask |= 1n << BigInt(bit);
  const names: string[] = [];
  for (const entry of info.featureNameTable) {
    if (entry.name === "") break;
    if (entry.type !== 0) continue;
    const bit = 1n << BigInt(entry.bit);
    if ((mask & bit) === 0n) continue;
    names.push(entry.name.slice(0, 46));
    mask &= ~bit;
  }
  if (mask !== 0n) names.push(`Unknown incompatible feature: ${mask.toString(16)}`);
  return `Unsupported qcow2 feature(s): ${names.join(", ")}`;
}

/** qcow2_read_extensions: the first extension QEMU refuses. */
function extensionRefusal(info: Qcow2Info, cs: number): OpenRefusal | null {
  const overrun = info.problems.find((p) => p.field === "header extension length");
  if (overrun)
    return refuse("INVALID_STRUCTURE", "Header extension too large", overrun.field, overrun.value);
  for (const ext of info.extensions) {
    if (ext.name === "backing-format" && ext.length >= 16)
      return refuse(
        "INVALID_STRUCTURE",
        `ERROR: ext_backing_format: len=${ext.length} too large (>=16)`,
        "backing format extension",
        ext.length,
      );
    if (ext.name === "full-disk-encryption") {
      if (info.encryptionMethod !== 2)
        return refuse(
          "INVALID_STRUCTURE",
          "CRYPTO header extension only expected with LUKS encryption method",
          "crypt_method",
          info.encryptionMethod,
        );
      if (ext.length !== 16)
        return refuse(
          "INVALID_STRUCTURE",
          `CRYPTO header extension size ${ext.length}, but expected size 16`,
          "full disk encryption extension",
          ext.length,
        );
      const fde = info.fullDiskEncryption;
      if (fde !== null) {
        const offset = exactField(fde.offset, "crypto_header.offset", info.outOfRange);
        if (offset % BigInt(cs) !== 0n)
          return refuse(
            "INVALID_STRUCTURE",
            `Encryption header offset '${offset}' is not a multiple of cluster size '${cs}'`,
            "crypto_header.offset",
            offset,
          );
      }
    }
    if (ext.name === "bitmaps") {
      const refusal = bitmapsRefusal(info, ext.length, cs);
      if (refusal !== null) return refusal;
    }
  }
  return null;
}

function bitmapsRefusal(info: Qcow2Info, length: number, cs: number): OpenRefusal | null {
  if (length !== 24)
    return refuse(
      "INVALID_STRUCTURE",
      "bitmaps_ext: Invalid extension length",
      "bitmaps extension",
      length,
    );
  // Without the autoclear bit QEMU only warns: the bitmaps are dropped as inconsistent.
  if (!info.autoclearFeatures.names.includes("bitmaps") || info.bitmaps === null) return null;
  const b = info.bitmaps;
  if (b.reserved32 !== 0)
    return refuse(
      "INVALID_STRUCTURE",
      "bitmaps_ext: Reserved field is not zero",
      "reserved32",
      b.reserved32,
    );
  if (b.nbBitmaps > 65535)
    return refuse(
      "LIMIT_EXCEEDED",
      `bitmaps_ext: Image has ${b.nbBitmaps} bitmaps, exceeding the QEMU supported maximum of 65535`,
      "nb_bitmaps",
      b.nbBitmaps,
    );
  if (b.nbBitmaps === 0)
    return refuse(
      "INVALID_STRUCTURE",
      "found bitmaps extension with zero bitmaps",
      "nb_bitmaps",
      0,
    );
  const offset = exactField(b.bitmapDirectoryOffset, "bitmap_directory_offset", info.outOfRange);
  if (offset % BigInt(cs) !== 0n)
    return refuse(
      "INVALID_STRUCTURE",
      "bitmaps_ext: invalid bitmap directory offset",
      "bitmap_directory_offset",
      offset,
    );
  const size = exactField(b.bitmapDirectorySize, "bitmap_directory_size", info.outOfRange);
  if (size > BigInt(1024 * 65535))
    return refuse(
      "LIMIT_EXCEEDED",
      `bitmaps_ext: bitmap directory size (${size}) exceeds the maximum supported size (${1024 * 65535})`,
      "bitmap_directory_size",
      size,
    );
  return null;
}

/** block/qcow.c qcow_open: the QCOW1 header fields QEMU refuses, in its order. */
function qcow1Refusal(info: Qcow2Info): OpenRefusal | null {
  const size = exactField(info.virtualSize, "size", info.outOfRange);
  if (size <= 1n)
    return refuse(
      "INVALID_STRUCTURE",
      "Image size is too small (must be at least 2 bytes)",
      "size",
      size,
    );
  if (info.clusterBits < 9 || info.clusterBits > 16)
    return refuse(
      "CLUSTER_BITS_OUT_OF_RANGE",
      "Cluster size must be between 512 and 64k",
      "cluster_bits",
      info.clusterBits,
    );
  const l2Bits = info.qcow1?.l2Bits ?? 0;
  if (l2Bits < 6 || l2Bits > 13)
    return refuse(
      "INVALID_STRUCTURE",
      "L2 table size must be between 512 and 64k",
      "l2_bits",
      l2Bits,
    );
  if (info.encryptionMethod > 1)
    return refuse(
      "UNSUPPORTED_FEATURE",
      "invalid encryption method in qcow header",
      "crypt_method",
      info.encryptionMethod,
    );
  const shift = BigInt(info.clusterBits + l2Bits);
  if (size > (1n << 64n) - 1n - (1n << shift))
    return refuse("LIMIT_EXCEEDED", "Image too large", "size", size);
  const l1Size = (size + (1n << shift) - 1n) >> shift;
  if (l1Size > BigInt(Math.floor(0x7fffffff / 8)))
    return refuse("LIMIT_EXCEEDED", "Image too large", "size", size);
  if (info.backingFile !== null && info.backingFile.name === null)
    return refuse("INVALID_STRUCTURE", "Input/output error", "backing_file_offset", "beyond 2^63");
  if (info.backingFile !== null && info.backingFile.size > 1023)
    return refuse(
      "INVALID_STRUCTURE",
      "Backing file name too long",
      "backing_file_size",
      info.backingFile.size,
    );
  return null;
}
