import type { CheckReport } from "@x/qcow2-core";

/** Why a cluster is carved. */
export type CarveReason = "leaked" | "orphaned";

/** A contiguous run of host clusters to carve, all for the same reason. */
export interface CarveRun {
  /** Host byte offset of the run. */
  offset: number;
  /** Length in bytes (whole clusters; clipped to the file's end when carved). */
  length: number;
  reason: CarveReason;
  clusters: number;
}

/**
 * Groups the leaked clusters (stored refcount > 0, unreferenced: residue) and
 * orphaned clusters (referenced, stored refcount 0) of a check report into
 * contiguous runs, ascending by offset.
 *
 * @example
 * ```ts
 * for (const run of carveRuns(await check(source))) console.log(run.reason, run.offset, run.length);
 * ```
 */
export function carveRuns(report: CheckReport): CarveRun[] {
  const cs = report.clusterSize;
  const tagged = [
    ...report.leakedClusters.map((k) => ({ k, reason: "leaked" as const })),
    ...report.orphanedClusters.map((k) => ({ k, reason: "orphaned" as const })),
  ]
    .filter((c) => c.k * cs < report.fileSize)
    .sort((a, b) => a.k - b.k);
  const runs: CarveRun[] = [];
  for (const c of tagged) {
    const last = runs[runs.length - 1];
    if (last !== undefined && last.reason === c.reason && last.offset + last.length === c.k * cs) {
      last.length += cs;
      last.clusters++;
    } else {
      runs.push({ offset: c.k * cs, length: cs, reason: c.reason, clusters: 1 });
    }
  }
  return runs;
}
