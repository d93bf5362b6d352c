/**
 * `@x/volumes`: what a guest disk holds — its MBR or GPT partitions (as
 * `sfdisk --json` lists them) and the filesystem or volume signature of
 * each (as `blkid -p` prints them) — read from any random-access
 * `{ size, read(offset, length) }` disk. Knows nothing of QCOW2; browser-safe.
 */
export {
  type Attribution,
  attributeExtents,
  describeAttribution,
  type Extent,
  ExtentAttributor,
  formatBytes,
  type PartitionShare,
} from "./attribute.js";
export { mbrBootCode, partitionBootCode } from "./boot-code.js";
export {
  type BootCodeChange,
  compareBootCode,
  compareLayouts,
  type LayoutChange,
} from "./compare.js";
export { type AccountedRange, accountedRanges, unaccounted } from "./coverage.js";
export { DiskReader, type GuestDisk, memoryDisk, READ_BUDGET, Region, SECTOR } from "./disk.js";
export {
  isVolumesError,
  VolumesError,
  type VolumesErrorCode,
  type VolumesErrorDetails,
} from "./errors.js";
export type {
  BitLockerDetails,
  FilesystemDetails,
  LuksDetails,
  LvmDetails,
  LvmLogicalVolume,
  LvmSegment,
  SwapDetails,
} from "./fs/details.js";
export { PROBE_ORDER, probeRegion } from "./fs/probe.js";
export type { Magic, ProbeHit, Prober, Usage } from "./fs/prober.js";
export { filesystemToJson, volumesToJson } from "./json.js";
export type {
  BootCode,
  Filesystem,
  GptFacts,
  GptHeaderFacts,
  MbrFacts,
  Partition,
  Scheme,
  VolumeLayout,
  VolumeProblem,
} from "./layout.js";
export { type ReadVolumesOptions, readVolumes } from "./read-volumes.js";
export { displayString } from "./strings.js";
export { gptTypeName, mbrTypeName } from "./table/type-names.js";
