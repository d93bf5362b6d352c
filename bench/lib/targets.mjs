// Targets: pass/fail lines computed from the medians. Every group's targets are listed on every
// run (a target whose figures were not measured reads NOT RUN), so partial runs show the gaps.
import { fmtMB, fmtRatio, fmtS } from "./format.mjs";

export const verdict = (ok) => (ok ? "PASS" : "FAIL");

/**
 * Asks each group for its targets, in group order. A group calls add(name, fn) per target; fn
 * returns { status, detail } from ctx.results, or null when its figures are not in this run.
 */
export function collectTargets(groups, ctx) {
  const targets = [];
  const add = (name, fn) => {
    try {
      const r = fn();
      targets.push({ name, ...(r ?? { status: "NOT RUN", detail: "not measured in this run" }) });
    } catch (e) {
      targets.push({ name, status: "ERROR", detail: String(e.message ?? e) });
    }
  };
  for (const g of groups) g.targets?.(ctx, add);
  return targets;
}

/** "ours 1.234 s vs 2.345 s (0.53×)" for a comparePair result. */
export const oursVsReference = (r) =>
  `ours ${fmtS(r.ours.median)} vs ${fmtS(r.ref.median)} (${fmtRatio(r.ours.median / r.ref.median)})`;

/**
 * Ours within `wall`× the reference's wall time (process start included) and under `rss`× its
 * peak RSS, on one comparePair result (null when it was not run).
 */
export function withinReference(r, { wall, rss }) {
  if (!r) return null;
  const t = r.ours.median / r.ref.median;
  const m = r.ours.rssKiB != null ? r.ours.rssKiB / r.ref.rssKiB : null;
  return {
    status: m == null ? "NOT RUN" : verdict(t <= wall && m < rss),
    detail:
      `wall ${fmtS(r.ours.median)} vs ${fmtS(r.ref.median)} (${fmtRatio(t)}); ` +
      `RSS ${fmtMB(r.ours.rssKiB)} vs ${fmtMB(r.ref.rssKiB)} (${m == null ? "n/a" : fmtRatio(m)})`,
  };
}
