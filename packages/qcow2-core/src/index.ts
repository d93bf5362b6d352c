/**
 * `@x/qcow2-core`: read-only QCOW2 parsing over a random-access byte source.
 * Browser-safe: this entry imports no `node:` module (file access lives in
 * `@x/qcow2-core/node`).
 */
export { Qcow2Error, isQcow2Error, type Qcow2ErrorCode, type Qcow2ErrorDetails } from "./errors.js";
export { type ByteSource, readExact, readPadded } from "./source/byte-source.js";
export { memorySource } from "./source/memory-source.js";
export { blobSource, type BlobLike } from "./source/blob-source.js";
export { inspect, type Qcow2Info, type BackingFileRef, type EncryptionMethod, type Qcow1Fields } from "./inspect.js";
export { readSnapshots, type Qcow2Snapshot, type SnapshotTable } from "./snapshots.js";
export { refcountReport, type RefcountReport, type OrphanCluster, MAX_LISTED_ORPHANS } from "./refcount-report.js";
export { RefcountTable } from "./refcount-table.js";
export { Qcow2Image, type OpenImageOptions, MAX_READ_LENGTH } from "./reader/qcow2-image.js";
export { type Decompressor, fflateDecompressor } from "./reader/decompress.js";
export { LIMITS } from "./limits.js";
export {
  type FeatureSet,
  type FeatureKind,
  KNOWN_FEATURES,
  decodeFeatures,
  hasFeature,
  INCOMPAT_DIRTY,
  INCOMPAT_CORRUPT,
  INCOMPAT_EXTERNAL_DATA_FILE,
  INCOMPAT_COMPRESSION_TYPE,
  INCOMPAT_EXTENDED_L2,
  COMPAT_LAZY_REFCOUNTS,
  AUTOCLEAR_BITMAPS,
  AUTOCLEAR_DATA_FILE_RAW,
} from "./format/features.js";
export type {
  HeaderExtension,
  FeatureNameEntry,
  BitmapsExtension,
  FullDiskEncryptionExtension,
} from "./format/extensions.js";
export type { HeaderProblem } from "./format/problems.js";
export type { OutOfRangeField } from "./format/numbers.js";
export { type ClusterDescriptor, decodeL2Entry, decodeCompressedDescriptor } from "./format/l2-entry.js";
export { refcountAt, refcountsPerBlock } from "./format/refcount.js";
export { decodeHeader, type Qcow2Header, HEADER_V2_LAYOUT, HEADER_V3_LAYOUT } from "./format/header.js";
export * as constants from "./format/constants.js";
export { toQemuImgInfo, type QemuImgInfo } from "./qemu/info-json.js";
export { toQemuSnapshotList, type QemuSnapshotInfo } from "./qemu/snapshot-json.js";
export { combineBackingPath, type QemuInfoInputs } from "./qemu/info-json.js";
export { readBitmaps, type BitmapDirectory, MAX_BITMAPS } from "./bitmaps.js";
export { type BitmapEntry, decodeBitmapDirectory } from "./format/bitmap-directory.js";
