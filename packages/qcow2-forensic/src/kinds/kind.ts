import type { Category, Evidence, Severity } from "@x/report";

/**
 * One anomaly kind: its severity, category, meaning, note and evidence
 * together, so each fact about a code is written exactly once.
 */
export interface AnomalyKind<A> {
  severity: Severity;
  category: Category;
  /** One line for `qcow2-forensic codes` and the docs. */
  meaning: string;
  /** The "consistent with …" note for one observation. */
  note(anomaly: A): string;
  /** At least one evidence item, with host locations where the structure has one. */
  evidence(anomaly: A): Evidence[];
}
