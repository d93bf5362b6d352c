/**
 * `@x/qcow2-forensic`: grades QCOW2 facts from `@x/qcow2-core` into findings
 * on the `@x/report` model. Browser-safe; `@x/qcow2-forensic/node` adds
 * `auditPath`.
 */
export type { Qcow2Anomaly, AnomalyCode, AnomalyOf } from "./anomaly.js";
export { audit, auditSnapshots, auditOrphans, auditImage } from "./audit.js";
export { observe, toFindings, ANALYZER_SOURCE } from "./observe.js";
export { KINDS, kindOf, type AnomalyKind } from "./kinds/index.js";
export { codeCatalog, type CodeInfo } from "./catalog.js";
