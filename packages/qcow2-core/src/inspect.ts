import { isQcow2Error, Qcow2Error } from "./errors.js";
import {
  QCOW_CRYPT_AES,
  QCOW_CRYPT_LUKS,
  QCOW_CRYPT_NONE,
  QCOW_MAGIC,
  QCOW1_HEADER_SIZE,
  QCOW2_V2_HEADER_SIZE,
  QCOW2_V3_HEADER_SIZE,
} from "./format/constants.js";
import {
  type BitmapsExtension,
  decodeExtensions,
  type FeatureNameEntry,
  type FullDiskEncryptionExtension,
  type HeaderExtension,
} from "./format/extensions.js";
import { type FeatureSet, noFeatures } from "./format/features.js";
import { decodeHeader, decodeMagicAndVersion } from "./format/header.js";
import { exactField, type OutOfRangeField } from "./format/numbers.js";
import type { HeaderProblem } from "./format/problems.js";
import { decodeQcow1Header } from "./format/qcow1-header.js";
import { decodeString, isLossyUtf8 } from "./format/strings.js";
import { LIMITS } from "./limits.js";
import { type ByteSource, readPadded, readSafely } from "./source/byte-source.js";

/** Encryption method names for `crypt_method`. */
export type EncryptionMethod = "none" | "aes" | "luks" | "unknown";

/** The backing file reference of an overlay image. */
export interface BackingFileRef {
  /** Host offset of the name (`backing_file_offset`). */
  offset: number;
  /** Length of the name on disk (`backing_file_size`). */
  size: number;
  /** The name, lossy UTF-8, bounded; `null` when it could not be read. */
  name: string | null;
  /** True when the name bytes were not valid UTF-8. */
  lossy: boolean;
}

/** QCOW1-only header fields. */
export interface Qcow1Fields {
  /** Backing file modification time recorded by QEMU (seconds, 0 if unset). */
  mtime: number;
  l2Bits: number;
}

/**
 * Header facts of a QCOW image, decoded without reading guest data.
 * JSON-safe: 64-bit feature bitmaps are hex strings; sizes and offsets are
 * numbers (values above 2^53 − 1 are `NaN` and listed in `outOfRange`).
 */
export interface Qcow2Info {
  /** Total size of the container file in bytes. */
  fileSize: number;
  version: 1 | 2 | 3;
  clusterBits: number;
  /** `null` when `clusterBits` is outside QEMU's range (see `problems`). */
  clusterSize: number | null;
  /** Virtual (guest) disk size in bytes. */
  virtualSize: number;
  l1Size: number;
  l1TableOffset: number;
  refcountTableOffset: number;
  refcountTableClusters: number;
  refcountOrder: number;
  refcountBits: number;
  snapshotCount: number;
  snapshotsOffset: number;
  hasBackingFile: boolean;
  backingFile: BackingFileRef | null;
  /** Backing format from extension 0xE2792ACA, if present. */
  backingFormat: string | null;
  /** Raw `crypt_method` (0 none, 1 AES, 2 LUKS). */
  encryptionMethod: number;
  encryption: EncryptionMethod;
  incompatibleFeatures: FeatureSet;
  compatibleFeatures: FeatureSet;
  autoclearFeatures: FeatureSet;
  headerLength: number;
  /** Raw compression type (0 zlib, 1 zstd). */
  compressionType: number;
  compressionTypeName: "zlib" | "zstd" | "unknown";
  extensions: HeaderExtension[];
  featureNameTable: FeatureNameEntry[];
  externalDataFile: string | null;
  bitmaps: BitmapsExtension | null;
  fullDiskEncryption: FullDiskEncryptionExtension | null;
  /** Present for version 1 images only. */
  qcow1: Qcow1Fields | null;
  /** Header facts that contradict each other or the spec. */
  problems: HeaderProblem[];
  /** 64-bit fields too large to represent exactly. */
  outOfRange: OutOfRangeField[];
}

function encryptionName(method: number): EncryptionMethod {
  if (method === QCOW_CRYPT_NONE) return "none";
  if (method === QCOW_CRYPT_AES) return "aes";
  if (method === QCOW_CRYPT_LUKS) return "luks";
  return "unknown";
}

function compressionName(type: number): Qcow2Info["compressionTypeName"] {
  return type === 0 ? "zlib" : type === 1 ? "zstd" : "unknown";
}

/**
 * Reads the header facts of a QCOW image (version 1, 2 or 3) without decoding
 * guest data. Lenient: backing files, encryption, unknown feature bits and
 * odd header fields are reported, not rejected. Throws a {@link Qcow2Error}
 * only for a bad magic, a file shorter than a version 2 header, a version
 * outside 1–3, or an I/O failure.
 *
 * @example
 * ```ts
 * import { inspect } from "@x/qcow2-core";
 * import { openFileSource } from "@x/qcow2-core/node";
 * const info = await inspect(await openFileSource("disk.qcow2"));
 * console.log(info.version, info.virtualSize, info.backingFile?.name);
 * ```
 */
export async function inspect(source: ByteSource): Promise<Qcow2Info> {
  try {
    return await inspectUnattributed(source);
  } catch (e) {
    throw isQcow2Error(e) ? (e as Qcow2Error).withFile(source.name) : e;
  }
}

async function inspectUnattributed(source: ByteSource): Promise<Qcow2Info> {
  if (source.size < QCOW2_V2_HEADER_SIZE) {
    // Say "not QCOW" rather than "too small" when the magic is visibly wrong.
    const head = await readSafely(source, 0, Math.min(source.size, 8));
    if (
      head.length >= 4 &&
      new DataView(head.buffer, head.byteOffset, head.length).getUint32(0) !== QCOW_MAGIC
    ) {
      throw new Qcow2Error("BAD_MAGIC", "not a QCOW image (bad magic)", { field: "magic" });
    }
    throw new Qcow2Error(
      "FILE_TOO_SMALL",
      `file is ${source.size} bytes, shorter than a QCOW2 header (72 bytes)`,
      { value: source.size },
    );
  }
  const first = await readSafely(source, 0, Math.min(source.size, 4096));
  const { magic, version } = decodeMagicAndVersion(first);
  if (magic !== QCOW_MAGIC) {
    throw new Qcow2Error(
      "BAD_MAGIC",
      `not a QCOW image (magic 0x${magic.toString(16).padStart(8, "0")})`,
      {
        field: "magic",
        value: `0x${magic.toString(16)}`,
      },
    );
  }
  if (version === 1) return inspectQcow1(source, first);
  if (version !== 2 && version !== 3) {
    throw new Qcow2Error("UNSUPPORTED_VERSION", `QCOW version ${version} is not 1, 2 or 3`, {
      field: "version",
      value: version,
    });
  }
  const problems: HeaderProblem[] = [];
  const outOfRange: OutOfRangeField[] = [];
  const header = decodeHeader(first, problems, outOfRange);

  // Extensions and the backing name live in cluster 0 (qcow2.txt "Header").
  const clusterBytes = header.clusterSize ?? LIMITS.maxHeaderClusterBytes;
  const windowSize = Math.min(source.size, clusterBytes, LIMITS.maxHeaderClusterBytes);
  const cluster0 = windowSize <= first.length ? first : await readSafely(source, 0, windowSize);

  // QEMU stops walking extensions where the backing file name begins.
  let extEnd = clusterBytes;
  if (header.backingFileOffset > 0 && header.backingFileOffset < extEnd)
    extEnd = header.backingFileOffset;
  // A v3 header_length below 104 is reported as a problem; extensions never start inside the fixed header.
  const extStart =
    header.version === 2
      ? QCOW2_V2_HEADER_SIZE
      : Math.max(header.headerLength, QCOW2_V3_HEADER_SIZE);
  const ext = decodeExtensions(cluster0, extStart, extEnd, problems, outOfRange);

  if (
    header.version === 2 &&
    ext.extensions.some(
      (e) =>
        e.name === "feature-name-table" || e.name === "bitmaps" || e.name === "external-data-file",
    )
  ) {
    problems.push({
      field: "version",
      value: "2",
      message: "version 2 header carries version 3 extensions",
    });
  }

  const backingFile = await readBackingName(
    source,
    header.backingFileOffset,
    header.backingFileSize,
    header.clusterSize,
    problems,
    outOfRange,
  );
  const refcountBits = header.refcountOrder <= 6 ? 2 ** header.refcountOrder : Number.NaN;

  return {
    fileSize: source.size,
    version: header.version,
    clusterBits: header.clusterBits,
    clusterSize: header.clusterSize,
    virtualSize: header.size,
    l1Size: header.l1Size,
    l1TableOffset: header.l1TableOffset,
    refcountTableOffset: header.refcountTableOffset,
    refcountTableClusters: header.refcountTableClusters,
    refcountOrder: header.refcountOrder,
    refcountBits,
    snapshotCount: header.nbSnapshots,
    snapshotsOffset: header.snapshotsOffset,
    hasBackingFile: backingFile !== null,
    backingFile,
    backingFormat: ext.backingFormat,
    encryptionMethod: header.cryptMethod,
    encryption: encryptionName(header.cryptMethod),
    incompatibleFeatures: header.incompatibleFeatures,
    compatibleFeatures: header.compatibleFeatures,
    autoclearFeatures: header.autoclearFeatures,
    headerLength: header.headerLength,
    compressionType: header.compressionType,
    compressionTypeName: compressionName(header.compressionType),
    extensions: ext.extensions,
    featureNameTable: ext.featureNameTable,
    externalDataFile: ext.externalDataFile,
    bitmaps: ext.bitmaps,
    fullDiskEncryption: ext.fullDiskEncryption,
    qcow1: null,
    problems,
    outOfRange,
  };
}

async function readBackingName(
  source: ByteSource,
  offset: number,
  size: number,
  clusterSize: number | null,
  problems: HeaderProblem[],
  outOfRange: readonly OutOfRangeField[],
): Promise<BackingFileRef | null> {
  if (offset === 0) return null;
  if (!Number.isFinite(offset)) {
    // Far past end of file QEMU reads zeros — an empty name, no backing file —
    // unless the read ends beyond the block layer's limit (EIO: it cannot open
    // the image). A QCOW2 header QEMU refuses before that (offset > cluster).
    const exact = exactField(offset, "backing_file_offset", outOfRange);
    const readable = exact + BigInt(size) <= (1n << 63n) - (1n << 30n);
    if (clusterSize === null && readable) {
      problems.push({
        field: "backing_file_offset",
        value: exact.toString(),
        message: `backing_file_offset ${exact} is far past end of file: QEMU reads an empty name there and uses no backing file`,
      });
      return null;
    }
    return { offset, size, name: null, lossy: false };
  }
  if (size > LIMITS.maxBackingFileName) {
    problems.push({
      field: "backing_file_size",
      value: String(size),
      message: `backing file name length ${size} exceeds QEMU's limit of ${LIMITS.maxBackingFileName} bytes`,
      offset,
    });
  }
  if (clusterSize !== null && offset + Math.min(size, LIMITS.maxBackingFileName) > clusterSize) {
    problems.push({
      field: "backing_file_offset",
      value: String(offset),
      message: `backing file name at offset ${offset} (+${size}) lies outside cluster 0`,
      offset,
    });
  }
  if (offset >= source.size) {
    problems.push({
      field: "backing_file_offset",
      value: String(offset),
      message: `backing file name offset ${offset} is past end of file (${source.size})`,
      offset,
    });
  }
  // QEMU reads the name as a C string, zeros past end of file: an empty one
  // (no bytes, or a NUL first) means no backing file at all.
  const bytes = await readPadded(source, offset, Math.min(size, LIMITS.maxBackingFileName));
  const name = decodeString(bytes, LIMITS.maxBackingFileName);
  // (Past cluster 0 QEMU refuses the image before reading the name: keep the reference.)
  if (name === "" && (clusterSize === null || offset <= clusterSize)) {
    problems.push({
      field: "backing_file_offset",
      value: String(offset),
      message: `backing_file_offset ${offset} names an empty backing file (${size} bytes): QEMU treats the image as having none`,
      offset,
    });
    return null;
  }
  return {
    offset,
    size,
    name,
    lossy: isLossyUtf8(bytes.subarray(0, bytes.indexOf(0) < 0 ? bytes.length : bytes.indexOf(0))),
  };
}

async function inspectQcow1(source: ByteSource, first: Uint8Array): Promise<Qcow2Info> {
  const problems: HeaderProblem[] = [];
  const outOfRange: OutOfRangeField[] = [];
  if (first.length < QCOW1_HEADER_SIZE) {
    throw new Qcow2Error("FILE_TOO_SMALL", "file is shorter than a QCOW1 header (48 bytes)");
  }
  const h = decodeQcow1Header(first, outOfRange);
  const clusterSize = h.clusterBits >= 9 && h.clusterBits <= 16 ? 2 ** h.clusterBits : null;
  if (clusterSize === null) {
    problems.push({
      field: "cluster_bits",
      value: String(h.clusterBits),
      message: `QCOW1 cluster_bits ${h.clusterBits} is outside QEMU's range 9–16`,
    });
  }
  const backingFile = await readBackingName(
    source,
    h.backingFileOffset,
    h.backingFileSize,
    null,
    problems,
    outOfRange,
  );
  return {
    fileSize: source.size,
    version: 1,
    clusterBits: h.clusterBits,
    clusterSize,
    virtualSize: h.size,
    l1Size: h.l1Size,
    l1TableOffset: h.l1TableOffset,
    refcountTableOffset: 0,
    refcountTableClusters: 0,
    refcountOrder: 0,
    refcountBits: 0,
    snapshotCount: 0,
    snapshotsOffset: 0,
    hasBackingFile: backingFile !== null,
    backingFile,
    backingFormat: null,
    encryptionMethod: h.cryptMethod,
    encryption: encryptionName(h.cryptMethod),
    incompatibleFeatures: noFeatures(),
    compatibleFeatures: noFeatures(),
    autoclearFeatures: noFeatures(),
    headerLength: QCOW1_HEADER_SIZE,
    compressionType: 0,
    compressionTypeName: "zlib",
    extensions: [],
    featureNameTable: [],
    externalDataFile: null,
    bitmaps: null,
    fullDiskEncryption: null,
    qcow1: { mtime: h.mtime, l2Bits: h.l2Bits },
    problems,
    outOfRange,
  };
}
