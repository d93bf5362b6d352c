import type { Evidence, Finding } from "./finding.js";
import { formatLocation, type Location } from "./location.js";
import { maxSeverity, type Severity } from "./severity.js";

/** The default number of findings of one code kept per subject (SPEC §14). */
export const DEFAULT_MAX_FINDINGS_PER_CODE = 100;

/** The location a finding is best placed by: its first host location, else its first guest one. */
function placeOf(f: Finding): Location | undefined {
  // One pass, nothing allocated: a report folds thousands of findings of one code.
  let guest: Location | undefined;
  for (const e of f.evidence) {
    const l = e.location;
    if (l?.kind === "host") return l;
    if (l?.kind === "guest") guest ??= l;
  }
  return guest;
}

function span(findings: readonly Finding[]): { first?: Location; last?: Location } {
  let first: Location | undefined;
  let last: Location | undefined;
  for (const f of findings) {
    const at = placeOf(f);
    if (at === undefined || at.kind === "field") continue;
    // Host locations rank before guest ones; within a kind, by offset.
    const key = (l: Location) =>
      (l.kind === "host" ? 0 : 1) * 2 ** 53 + (l.kind === "field" ? 0 : l.offset);
    if (first === undefined || key(at) < key(first)) first = at;
    if (last === undefined || key(at) > key(last)) last = at;
  }
  return { ...(first ? { first } : {}), ...(last ? { last } : {}) };
}

function* ratedSeverities(findings: readonly Finding[]): Generator<Severity> {
  for (const f of findings) if (f.severity !== undefined) yield f.severity as Severity;
}

function summary(code: string, folded: readonly Finding[], total: number): Finding {
  const head = folded[0] as Finding;
  const severity = maxSeverity(ratedSeverities(folded));
  const where = span(folded);
  const range =
    where.first && where.last
      ? `, from ${formatLocation(where.first)} to ${formatLocation(where.last)}`
      : "";
  const evidence: Evidence[] = [
    { field: "folded_findings", value: String(folded.length) },
    { field: "total_findings", value: String(total) },
  ];
  if (where.first)
    evidence.push({ field: "first", value: formatLocation(where.first), location: where.first });
  if (where.last)
    evidence.push({ field: "last", value: formatLocation(where.last), location: where.last });
  return {
    ...(severity === undefined ? {} : { severity }),
    category: head.category,
    code,
    note: `${folded.length} more ${code} finding(s) folded into this one (${total} in all${range}); raise the cap to list them (--max-findings-per-code, 0 = unlimited)`,
    source: head.source,
    evidence,
    folded: { count: folded.length, total, ...where },
  };
}

/** Whether `max` caps anything: a positive whole number (0 and anything else list every finding). */
function folding(max: number): boolean {
  return Number.isSafeInteger(max) && max > 0;
}

/**
 * Whether {@link foldFindings} folds the `index`-th (from 0, in order) of
 * `total` findings of one code into that code's summary, for cap `max`: a
 * caller that builds findings can skip what only the summary reads.
 *
 * @example
 * ```ts
 * isFolded(99, 150, 100); // true: the 100th of 150 starts the summary
 * ```
 */
export function isFolded(index: number, total: number, max: number): boolean {
  return folding(max) && total > max && index >= max - 1;
}

/**
 * Caps the findings of each code at `max` (0 = unlimited): the first
 * `max − 1` in the given order are kept, the rest fold into one summary
 * finding of the same code — so no code ever yields more than `max`
 * findings — that carries the total, the number folded and the first and
 * last offsets, in its evidence and in `folded`. The order of the kept
 * findings is unchanged; each summary takes the place of the first folded
 * finding.
 *
 * @example
 * ```ts
 * const bounded = foldFindings(findings, 100); // at most 100 findings per code
 * ```
 */
export function foldFindings(findings: readonly Finding[], max: number): Finding[] {
  if (!folding(max)) return [...findings];
  const byCode = new Map<string, Finding[]>();
  for (const f of findings) {
    const list = byCode.get(f.code);
    if (list === undefined) byCode.set(f.code, [f]);
    else list.push(f);
  }
  const out: Finding[] = [];
  const seen = new Map<string, number>();
  for (const f of findings) {
    const list = byCode.get(f.code) as Finding[];
    const index = seen.get(f.code) ?? 0;
    seen.set(f.code, index + 1);
    if (!isFolded(index, list.length, max)) out.push(f);
    else if (index === max - 1) out.push(summary(f.code, list.slice(max - 1), list.length));
  }
  return out;
}
