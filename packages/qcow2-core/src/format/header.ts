import { Qcow2Error } from "../errors.js";
import {
  MAX_CLUSTER_BITS,
  MIN_CLUSTER_BITS,
  QCOW_MAGIC,
  QCOW2_V2_HEADER_SIZE,
  QCOW2_V3_HEADER_SIZE,
} from "./constants.js";
import { decodeFeatures, type FeatureSet, noFeatures } from "./features.js";
import { decodeLayout, type Layout } from "./layout.js";
import { type OutOfRangeField, toSafeNumber } from "./numbers.js";
import type { HeaderProblem } from "./problems.js";

/** qcow2.txt "Header", bytes 0–71 (every version ≥ 2). */
export const HEADER_V2_LAYOUT = {
  magic: { offset: 0, type: "u32" },
  version: { offset: 4, type: "u32" },
  backing_file_offset: { offset: 8, type: "u64" },
  backing_file_size: { offset: 16, type: "u32" },
  cluster_bits: { offset: 20, type: "u32" },
  size: { offset: 24, type: "u64" },
  crypt_method: { offset: 32, type: "u32" },
  l1_size: { offset: 36, type: "u32" },
  l1_table_offset: { offset: 40, type: "u64" },
  refcount_table_offset: { offset: 48, type: "u64" },
  refcount_table_clusters: { offset: 56, type: "u32" },
  nb_snapshots: { offset: 60, type: "u32" },
  snapshots_offset: { offset: 64, type: "u64" },
} as const satisfies Layout;

/** qcow2.txt "Header", bytes 72–103 (version 3 only). */
export const HEADER_V3_LAYOUT = {
  incompatible_features: { offset: 72, type: "u64" },
  compatible_features: { offset: 80, type: "u64" },
  autoclear_features: { offset: 88, type: "u64" },
  refcount_order: { offset: 96, type: "u32" },
  header_length: { offset: 100, type: "u32" },
} as const satisfies Layout;

/** qcow2.txt "Header", byte 104 — present when header_length > 104. */
export const COMPRESSION_TYPE_OFFSET = 104;

/** The decoded fixed header of a version 2 or 3 image. */
export interface Qcow2Header {
  version: 2 | 3;
  backingFileOffset: number;
  backingFileSize: number;
  clusterBits: number;
  /** `2^clusterBits`, or `null` when `clusterBits` is outside QEMU's 9–21. */
  clusterSize: number | null;
  /** Virtual disk size in bytes (`size`). */
  size: number;
  cryptMethod: number;
  l1Size: number;
  l1TableOffset: number;
  refcountTableOffset: number;
  refcountTableClusters: number;
  nbSnapshots: number;
  snapshotsOffset: number;
  incompatibleFeatures: FeatureSet;
  compatibleFeatures: FeatureSet;
  autoclearFeatures: FeatureSet;
  /** log2 of the refcount width; 4 (16 bits) for version 2. */
  refcountOrder: number;
  /** Header length in bytes; 72 for version 2. */
  headerLength: number;
  /** 0 zlib, 1 zstd; 0 when the field is absent. */
  compressionType: number;
}

/** Reads the big-endian magic and version of any QCOW header. */
export function decodeMagicAndVersion(bytes: Uint8Array): { magic: number; version: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { magic: view.getUint32(0), version: view.getUint32(4) };
}

/**
 * Decodes the fixed header of a version 2/3 image. Lenient: only a bad magic,
 * a short buffer or a version other than 2/3 throw; every other oddity is
 * recorded in `problems` or `outOfRange` for the caller to report.
 */
export function decodeHeader(
  bytes: Uint8Array,
  problems: HeaderProblem[],
  outOfRange: OutOfRangeField[],
): Qcow2Header {
  if (bytes.length < QCOW2_V2_HEADER_SIZE) {
    throw new Qcow2Error(
      "FILE_TOO_SMALL",
      `${bytes.length} bytes is shorter than a QCOW2 header (72)`,
      {
        value: bytes.length,
      },
    );
  }
  const h = decodeLayout(bytes, 0, HEADER_V2_LAYOUT);
  if (h.magic !== QCOW_MAGIC) {
    throw new Qcow2Error("BAD_MAGIC", `magic 0x${h.magic.toString(16)} is not QCOW ("QFI\\xfb")`, {
      field: "magic",
      value: `0x${h.magic.toString(16)}`,
    });
  }
  if (h.version !== 2 && h.version !== 3) {
    throw new Qcow2Error(
      "UNSUPPORTED_VERSION",
      `version ${h.version} is not a QCOW2 version (2 or 3)`,
      {
        field: "version",
        value: h.version,
      },
    );
  }
  const n = (v: bigint, field: string) => toSafeNumber(v, field, outOfRange);
  const clusterSizeKnown = h.cluster_bits >= MIN_CLUSTER_BITS && h.cluster_bits <= MAX_CLUSTER_BITS;
  if (!clusterSizeKnown) {
    problems.push({
      field: "cluster_bits",
      value: String(h.cluster_bits),
      message: `cluster_bits ${h.cluster_bits} is outside QEMU's range ${MIN_CLUSTER_BITS}–${MAX_CLUSTER_BITS}`,
    });
  }

  const header: Qcow2Header = {
    version: h.version,
    backingFileOffset: n(h.backing_file_offset, "backing_file_offset"),
    backingFileSize: h.backing_file_size,
    clusterBits: h.cluster_bits,
    clusterSize: clusterSizeKnown ? 2 ** h.cluster_bits : null,
    size: n(h.size, "size"),
    cryptMethod: h.crypt_method,
    l1Size: h.l1_size,
    l1TableOffset: n(h.l1_table_offset, "l1_table_offset"),
    refcountTableOffset: n(h.refcount_table_offset, "refcount_table_offset"),
    refcountTableClusters: h.refcount_table_clusters,
    nbSnapshots: h.nb_snapshots,
    snapshotsOffset: n(h.snapshots_offset, "snapshots_offset"),
    incompatibleFeatures: noFeatures(),
    compatibleFeatures: noFeatures(),
    autoclearFeatures: noFeatures(),
    refcountOrder: 4,
    headerLength: QCOW2_V2_HEADER_SIZE,
    compressionType: 0,
  };
  if (h.version === 2) return header;

  if (bytes.length < QCOW2_V3_HEADER_SIZE) {
    throw new Qcow2Error(
      "FILE_TOO_SMALL",
      `${bytes.length} bytes is shorter than a version 3 header (104)`,
      { value: bytes.length },
    );
  }
  const v3 = decodeLayout(bytes, 0, HEADER_V3_LAYOUT);
  header.incompatibleFeatures = decodeFeatures("incompatible", v3.incompatible_features);
  header.compatibleFeatures = decodeFeatures("compatible", v3.compatible_features);
  header.autoclearFeatures = decodeFeatures("autoclear", v3.autoclear_features);
  header.refcountOrder = v3.refcount_order;
  header.headerLength = v3.header_length;
  if (v3.header_length < QCOW2_V3_HEADER_SIZE) {
    problems.push({
      field: "header_length",
      value: String(v3.header_length),
      message: `header_length ${v3.header_length} is shorter than the version 3 minimum (104)`,
    });
  } else if (v3.header_length % 8 !== 0) {
    problems.push({
      field: "header_length",
      value: String(v3.header_length),
      message: `header_length ${v3.header_length} is not a multiple of 8`,
    });
  }
  if (header.clusterSize !== null && v3.header_length > header.clusterSize) {
    problems.push({
      field: "header_length",
      value: String(v3.header_length),
      message: `header_length ${v3.header_length} exceeds the cluster size (${header.clusterSize})`,
    });
  }
  if (v3.header_length > COMPRESSION_TYPE_OFFSET && bytes.length > COMPRESSION_TYPE_OFFSET) {
    header.compressionType = bytes[COMPRESSION_TYPE_OFFSET] ?? 0;
  }
  if (v3.refcount_order > 6) {
    problems.push({
      field: "refcount_order",
      value: String(v3.refcount_order),
      message: `refcount_order ${v3.refcount_order} exceeds 6 (64-bit refcounts)`,
    });
  }
  return header;
}
