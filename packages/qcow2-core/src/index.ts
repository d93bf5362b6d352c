/**
 * `@x/qcow2-core`: read-only QCOW2 parsing over a random-access byte source.
 * Browser-safe: this entry imports no `node:` module (file access lives in
 * `@x/qcow2-core/node`).
 */

export {
  type BitmapExtentOptions,
  bitmapDistrust,
  bitmapExtents,
  bitmapLayout,
  findBitmap,
} from "./bitmap-data.js";
export { type BitmapDirectory, MAX_BITMAPS, readBitmaps } from "./bitmaps.js";
export {
  type HostCensus,
  type HostCensusCell,
  type HostClusterFlag,
  type HostClusterUse,
  MAX_CENSUS_CELLS,
} from "./check/census.js";
export { type CheckOptions, type CheckTableVisit, check } from "./check/check.js";
export type { CheckProblem, CheckProblemKind, CheckReport, ClusterOwner } from "./check/types.js";
export { isQcow2Error, Qcow2Error, type Qcow2ErrorCode, type Qcow2ErrorDetails } from "./errors.js";
export { type BitmapEntry, decodeBitmapDirectory } from "./format/bitmap-directory.js";
export * as constants from "./format/constants.js";
export type {
  BitmapsExtension,
  FeatureNameEntry,
  FullDiskEncryptionExtension,
  HeaderExtension,
} from "./format/extensions.js";
export {
  AUTOCLEAR_BITMAPS,
  AUTOCLEAR_DATA_FILE_RAW,
  COMPAT_LAZY_REFCOUNTS,
  decodeFeatures,
  type FeatureKind,
  type FeatureSet,
  hasFeature,
  INCOMPAT_COMPRESSION_TYPE,
  INCOMPAT_CORRUPT,
  INCOMPAT_DIRTY,
  INCOMPAT_EXTENDED_L2,
  INCOMPAT_EXTERNAL_DATA_FILE,
  KNOWN_FEATURES,
} from "./format/features.js";
export {
  decodeHeader,
  HEADER_V2_LAYOUT,
  HEADER_V3_LAYOUT,
  type Qcow2Header,
} from "./format/header.js";
export {
  type ClusterDescriptor,
  decodeCompressedDescriptor,
  decodeL2Entry,
} from "./format/l2-entry.js";
export {
  decodeLuksHeader,
  describeLuksCipher,
  LUKS_KEY_DISABLED,
  LUKS_KEY_ENABLED,
  type LuksHeader,
  type LuksKeySlot,
} from "./format/luks.js";
export { exactField, type OutOfRangeField } from "./format/numbers.js";
export type { HeaderProblem } from "./format/problems.js";
export { refcountAt, refcountsPerBlock } from "./format/refcount.js";
export { validateTable } from "./format/validate-table.js";
export {
  type BackingFileRef,
  type EncryptionMethod,
  inspect,
  type Qcow1Fields,
  type Qcow2Info,
} from "./inspect.js";
export { LIMITS } from "./limits.js";
export { type LuksInfo, readLuksHeader } from "./luks-header.js";
export { qemuBitmapRefusal } from "./qemu/bitmap-load.js";
export { type QemuCheckJson, qemuCheckExitCode, toQemuCheckJson } from "./qemu/check-json.js";
export {
  combineBackingPath,
  type QemuImgInfo,
  type QemuInfoInputs,
  qemuEncryptBlock,
  toQemuImgInfo,
} from "./qemu/info-json.js";
export { stringifyQemuJson } from "./qemu/json.js";
export { formatQemuMapEntry, formatQemuMapJson } from "./qemu/map-json.js";
export { type OpenMode, type OpenRefusal, qemuOpenRefusal } from "./qemu/open-refusal.js";
export { type QemuSnapshotInfo, toQemuSnapshotList } from "./qemu/snapshot-json.js";
export type {
  BackingRequest,
  BackingResolver,
  DataFileResolver,
  LayerFormat,
} from "./reader/backing.js";
export { probeFormat } from "./reader/backing.js";
export {
  type ChainLink,
  type ChainOutcome,
  type ChainWalk,
  walkBackingChain,
} from "./reader/chain.js";
export type { ChunkOptions, DiskChunk } from "./reader/chunks.js";
export {
  type Decompressor,
  fflateDecompressor,
  fzstdDecompressor,
  type ZstdDecompressor,
} from "./reader/decompress.js";
export {
  type DiffExtent,
  type DiffOptions,
  type DiffStats,
  type DiffStorage,
  describeRanges,
  diffDisks,
  diffExtents,
  diffGranularity,
  diffSummariesAgainst,
  diffSummary,
  type StoredRange,
} from "./reader/diff.js";
export type {
  GuestRange,
  Layer,
  LayerExtent,
  LayerIdentity,
  LayerStorage,
} from "./reader/layer.js";
export type { MapExtent } from "./reader/map.js";
export { MAX_READ_LENGTH, type OpenImageOptions, Qcow2Image } from "./reader/qcow2-image.js";
export type { MappingEntries } from "./reader/shared-tables.js";
export { SnapshotDivergence } from "./reader/snapshot-divergence.js";
export {
  backingView,
  type DiskView,
  defaultFromState,
  formatStateRef,
  type MetadataViewOptions,
  metadataView,
  newestSnapshot,
  parseStateRef,
  type StateRef,
} from "./reader/state.js";
export type { TableDiffSummary } from "./reader/table-diff-summary.js";
export { type ViewDisk, viewDisk } from "./reader/view-disk.js";
export {
  MAX_LISTED_ORPHANS,
  type OrphanCluster,
  type RefcountReport,
  refcountReport,
} from "./refcount-report.js";
export { RefcountTable } from "./refcount-table.js";
export {
  type Qcow2Snapshot,
  readSnapshots,
  type SnapshotTable,
  type SnapshotTableError,
  snapshotL1Field,
} from "./snapshots.js";
export { type BlobLike, blobSource } from "./source/blob-source.js";
export { type ByteSource, readExact, readPadded, readSafely } from "./source/byte-source.js";
export {
  type HttpSource,
  type HttpSourceOptions,
  httpSource,
  isHttpSource,
} from "./source/http/http-source.js";
export {
  fetchTransport,
  type HttpAnswer,
  type HttpTransferStats,
  type HttpTransport,
  newTransferStats,
} from "./source/http/range-client.js";
export { isHttpUrl, REDACTED, redactUrl } from "./source/http/redact.js";
export { sourceIdentity } from "./source/identity.js";
export { memorySource } from "./source/memory-source.js";
export { openVmState, type VmState } from "./vmstate.js";
