/**
 * `@x/qcow2-forensic`: grades QCOW2 facts from `@x/qcow2-core` into findings
 * on the `@x/report` model. Browser-safe; `@x/qcow2-forensic/node` adds
 * `auditPath`.
 */
export type {
  AnomalyCode,
  AnomalyOf,
  CitedCluster,
  CitedEntry,
  GuestVolumeRef,
  Qcow2Anomaly,
} from "./anomaly.js";
export { audit, auditOrphans, auditSnapshots } from "./audit.js";
export {
  auditCheck,
  auditHeaderOffsets,
  auditTrailing,
  MAX_RESIDUE_CLUSTERS,
  MAX_TRAILING_HASH,
} from "./audit-check.js";
export {
  auditDivergence,
  DIVERGENCE_TABLE_BUDGET,
  shellQuote,
} from "./audit-divergence.js";
export {
  auditGuest,
  type GuestAudit,
  type GuestTime,
  MAX_GUEST_SNAPSHOTS,
  MAX_UNPARTITIONED_SCAN,
} from "./audit-guest.js";
export {
  type AuditOptions,
  auditImage,
  type ChainFacts,
  type ChainFileFacts,
  type Examination,
  examineImage,
  sortAnomalies,
} from "./audit-image.js";
export { auditBitmaps, auditChain, auditLuks } from "./audit-metadata.js";
export { auditSnapshotTable, QCOW2_EPOCH } from "./audit-snapshots.js";
export { type CarveReason, type CarveRun, carveRuns } from "./carve.js";
export { type CodeInfo, codeCatalog } from "./catalog.js";
export {
  type GuestDiskHandle,
  type GuestOpener,
  type GuestState,
  type KnownImage,
  qcow2GuestOpener,
  stateLabel,
} from "./guest-opener.js";
export { type AnomalyKind, KINDS, kindOf } from "./kinds/index.js";
export { ANALYZER_SOURCE, type FindingOptions, observe, toFindings } from "./observe.js";
export { chainFigure } from "./pictures/chain-figure.js";
export {
  custodyFacts,
  DEFAULT_MAP_CELLS,
  DEFAULT_SNAPSHOT_MAPS,
  drawGuestMap,
  drawHostMap,
  drawPictures,
  type PictureOptions,
  type StateOpener,
} from "./pictures/draw.js";
export { GuestCensus, guestMapFigure, type LayerNames } from "./pictures/guest-map.js";
export { hostCellCategory, hostMapFigure } from "./pictures/host-map.js";
export { snapshotTimelineFigure } from "./pictures/snapshot-timeline.js";
