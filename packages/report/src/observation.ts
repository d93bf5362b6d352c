import type { Category, Evidence, Finding, Source } from "./finding.js";
import type { Location } from "./location.js";
import type { Severity } from "./severity.js";

/**
 * What an analyzer emits before it is stamped with a {@link Source}. Unlike
 * {@link Finding}, `severity` is a required key (possibly `undefined`) so an
 * analyzer has to decide explicitly whether it rates the observation.
 *
 * @example
 * ```ts
 * const o: Observation = {
 *   severity: undefined,
 *   category: "provenance",
 *   code: "BACKING_FILE",
 *   note: "Image depends on a backing file",
 *   evidence: [{ field: "backing_file", value: "base.qcow2" }],
 * };
 * ```
 */
export interface Observation {
  severity: Severity | undefined;
  category: Category;
  code: string;
  note: string;
  evidence: Evidence[];
}

function copyLocation(loc: Location): Location {
  return { ...loc };
}

function copyEvidence(e: Evidence): Evidence {
  const out: Evidence = { field: e.field, value: e.value };
  if (e.location !== undefined) out.location = copyLocation(e.location);
  return out;
}

function copySource(s: Source): Source {
  const out: Source = { analyzer: s.analyzer, scope: s.scope };
  if (s.version !== undefined) out.version = s.version;
  return out;
}

/**
 * Turns an observation into a canonical {@link Finding} attributed to
 * `source`. Everything is copied (evidence, locations, source) so that an
 * analyzer reusing or mutating its objects afterwards cannot alter a finding
 * that is already part of a report; `severity` is omitted when unrated.
 *
 * @example
 * ```ts
 * const finding = toFinding(observation, { analyzer: "header", scope: "QCOW2 header" });
 * ```
 */
export function toFinding(observation: Observation, source: Source): Finding {
  const finding: Finding = {
    category: observation.category,
    code: observation.code,
    note: observation.note,
    source: copySource(source),
    evidence: observation.evidence.map(copyEvidence),
  };
  // Severity goes first so the object's key order matches the canonical JSON order.
  return observation.severity === undefined
    ? finding
    : { severity: observation.severity, ...finding };
}
