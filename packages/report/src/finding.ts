import type { Location } from "./location.js";
import type { Severity } from "./severity.js";

/**
 * What aspect of the subject a finding is about. Closed on purpose: renderers,
 * the JSON schema and downstream filters all enumerate it.
 *
 * @example
 * ```ts
 * const c: Category = "hidden-data";
 * ```
 */
export type Category =
  | "integrity"
  | "provenance"
  | "confidentiality"
  | "history"
  | "hidden-data"
  | "structure"
  | "format";

/**
 * Every {@link Category}, in a fixed documentation order.
 *
 * @example
 * ```ts
 * CATEGORIES.includes("history"); // true
 * ```
 */
export const CATEGORIES: readonly Category[] = Object.freeze([
  "integrity",
  "provenance",
  "confidentiality",
  "history",
  "hidden-data",
  "structure",
  "format",
] as const);

/**
 * Type guard: is `x` one of the {@link CATEGORIES}?
 *
 * @example
 * ```ts
 * isCategory("format"); // true
 * isCategory("misc");   // false
 * ```
 */
export function isCategory(x: unknown): x is Category {
  return typeof x === "string" && (CATEGORIES as readonly string[]).includes(x);
}

/**
 * One observed fact backing a finding. `value` is always text so that raw
 * values (hex offsets, snapshot names, flags) are reported exactly as the
 * analyzer chose to show them, without a lossy number/bigint round-trip.
 *
 * @example
 * ```ts
 * const e: Evidence = { field: "nb_snapshots", value: "2", location: fieldLocation("QCOW2 header", "nb_snapshots") };
 * ```
 */
export interface Evidence {
  field: string;
  value: string;
  location?: Location;
}

/**
 * Who produced a finding: the analyzer's name, what it was looking at
 * (`scope`, e.g. "header" or "snapshot 2"), and optionally its version.
 *
 * @example
 * ```ts
 * const src: Source = { analyzer: "snapshots", scope: "snapshot table", version: "0.1.0" };
 * ```
 */
export interface Source {
  analyzer: string;
  scope: string;
  version?: string;
}

/**
 * What a summary finding stands for: the findings of its code beyond the
 * per-code cap (see `foldFindings`).
 *
 * @example
 * ```ts
 * const f: Folded = { count: 3178, total: 3277, first: { kind: "host", offset: 0x90040 }, last: { kind: "host", offset: 0xa1000 } };
 * ```
 */
export interface Folded {
  /** How many findings this summary replaces. */
  count: number;
  /** How many findings of the code there were in all (listed + folded). */
  total: number;
  /** The lowest and highest location among the folded findings (host before guest), when they have one. */
  first?: Location;
  last?: Location;
}

/**
 * The canonical, serialisable unit of a report. `severity` is absent (not
 * `"info"`) when the analyzer did not rate the finding.
 *
 * @example
 * ```ts
 * const f: Finding = {
 *   severity: "medium",
 *   category: "history",
 *   code: "SNAPSHOT_PRESENT",
 *   note: "Image carries 2 internal snapshots",
 *   source: { analyzer: "snapshots", scope: "snapshot table" },
 *   evidence: [{ field: "nb_snapshots", value: "2" }],
 * };
 * ```
 */
export interface Finding {
  severity?: Severity;
  category: Category;
  code: string;
  note: string;
  source: Source;
  evidence: Evidence[];
  /** Set on the summary that stands for findings folded beyond the per-code cap. */
  folded?: Folded;
}
