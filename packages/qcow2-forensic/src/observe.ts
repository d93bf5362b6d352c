import { type Finding, type Observation, type Source, sortFindings, toFinding } from "@x/report";
import { version } from "../package.json";
import type { AnomalyCode, AnomalyOf, Qcow2Anomaly } from "./anomaly.js";
import { kindOf } from "./kinds/index.js";

/** The analyzer identity stamped on every finding. */
export const ANALYZER_SOURCE: Source = { analyzer: "qcow2-forensic", scope: "image", version };

/**
 * The {@link Observation} for one anomaly: severity, category, note and
 * evidence from its kind.
 */
export function observe(anomaly: Qcow2Anomaly): Observation {
  const kind = kindOf(anomaly.code as AnomalyCode);
  const a = anomaly as AnomalyOf<typeof anomaly.code>;
  return {
    severity: kind.severity,
    category: kind.category,
    code: anomaly.code,
    // The kind table is keyed by code, so the variant always matches its kind.
    note: (kind.note as (x: typeof a) => string)(a),
    evidence: (kind.evidence as (x: typeof a) => ReturnType<typeof kind.evidence>)(a),
  };
}

/**
 * Turns anomalies into canonical findings, sorted by severity (highest
 * first) then code.
 *
 * @example
 * ```ts
 * const findings = toFindings(await auditImage(source));
 * ```
 */
export function toFindings(
  anomalies: readonly Qcow2Anomaly[],
  source: Source = ANALYZER_SOURCE,
): Finding[] {
  return sortFindings(anomalies.map((a) => toFinding(observe(a), source)));
}
