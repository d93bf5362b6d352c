import {
  DEFAULT_MAX_FINDINGS_PER_CODE,
  type Finding,
  foldFindings,
  isFolded,
  type Observation,
  type Source,
  sortFindings,
  toFinding,
} from "@x/report";
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
 * The finding of an anomaly that folds into its code's summary: what the
 * summary reads (severity, category, source, evidence locations), no note;
 * the evidence is the kind's own, made fresh for this call. `source` is
 * shared by the code's folded findings (a summary keeps its head's).
 */
function foldingFinding(anomaly: Qcow2Anomaly, source: Source): Finding {
  const kind = kindOf(anomaly.code as AnomalyCode);
  const a = anomaly as AnomalyOf<typeof anomaly.code>;
  const evidence = (kind.evidence as (x: typeof a) => ReturnType<typeof kind.evidence>)(a);
  // Two plain literals, no spread: thousands of these are made, mostly by code not yet optimised.
  const { category, severity } = kind;
  const code = anomaly.code;
  return severity === undefined
    ? { category, code, note: "", source, evidence }
    : { severity, category, code, note: "", source, evidence };
}

/** Options for {@link toFindings}. */
export interface FindingOptions {
  /**
   * At most this many findings of one code (default 100); the rest fold into
   * one summary finding of that code with the total and the offset range.
   * `0` lists every finding.
   */
  maxFindingsPerCode?: number;
}

/**
 * Turns anomalies into canonical findings, sorted by severity (highest
 * first) then code, at most `maxFindingsPerCode` of each code (SPEC §14).
 *
 * @example
 * ```ts
 * const findings = toFindings(await auditImage(source));
 * const everything = toFindings(anomalies, undefined, { maxFindingsPerCode: 0 });
 * ```
 */
export function toFindings(
  anomalies: readonly Qcow2Anomaly[],
  source: Source = ANALYZER_SOURCE,
  options: FindingOptions = {},
): Finding[] {
  const max = options.maxFindingsPerCode ?? DEFAULT_MAX_FINDINGS_PER_CODE;
  const counts = new Map<string, number>();
  for (const a of anomalies) counts.set(a.code, (counts.get(a.code) ?? 0) + 1);
  // A finding that will fold into its code's summary is made with only what the summary reads
  // (severity, category, source, evidence): its note is never shown, its parts never kept (an
  // image of thousands of snapshots folds thousands). A code's severity is its kind's, so
  // sorting keeps each code's findings in the order given: the n-th here is the n-th there.
  const kept = new Map<string, number>();
  const foldedSource = new Map<string, Source>();
  const findings = anomalies.map((a) => {
    const n = kept.get(a.code) ?? 0;
    kept.set(a.code, n + 1);
    if (!isFolded(n, counts.get(a.code) as number, max)) return toFinding(observe(a), source);
    // Its own copy of the source per code: a summary takes its head's, and callers may own theirs.
    let own = foldedSource.get(a.code);
    if (own === undefined) {
      own = { ...source };
      foldedSource.set(a.code, own);
    }
    return foldingFinding(a, own);
  });
  return foldFindings(sortFindings(findings), max);
}
