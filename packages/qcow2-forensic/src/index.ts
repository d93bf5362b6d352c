/**
 * `@x/qcow2-forensic`: grades QCOW2 facts from `@x/qcow2-core` into findings
 * on the `@x/report` model. Browser-safe; `@x/qcow2-forensic/node` adds
 * `auditPath`.
 */
export type { AnomalyCode, AnomalyOf, Qcow2Anomaly } from "./anomaly.js";
export { audit, auditImage, auditOrphans, auditSnapshots } from "./audit.js";
export { type CodeInfo, codeCatalog } from "./catalog.js";
export { type AnomalyKind, KINDS, kindOf } from "./kinds/index.js";
export { ANALYZER_SOURCE, observe, toFindings } from "./observe.js";
