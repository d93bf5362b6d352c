import type { SnapshotTable } from "@x/qcow2-core";
import type { TimelineEvent, TimelineFigure } from "@x/report";
import type { Qcow2Anomaly } from "../anomaly.js";
import { formatBytes } from "./units.js";

/**
 * The internal snapshots on a time axis by creation date; snapshots the
 * audit flagged (`QCOW2-SNAPSHOT-TIME-ANOMALY`) are drawn as warnings, and
 * the audit clock is marked when a snapshot is dated after it.
 *
 * @example
 * ```ts
 * const figure = snapshotTimelineFigure(exam.snapshots, exam.anomalies, new Date());
 * ```
 */
export function snapshotTimelineFigure(
  table: SnapshotTable,
  anomalies: readonly Qcow2Anomaly[],
  now: Date,
): TimelineFigure {
  const flagged = new Set(
    anomalies.flatMap((a) => (a.code === "QCOW2-SNAPSHOT-TIME-ANOMALY" ? [a.id] : [])),
  );
  const events: TimelineEvent[] = table.snapshots.map((s) => ({
    time: s.dateSec + s.dateNsec / 1e9,
    label: `id ${s.id} "${s.name}"`,
    detail:
      s.vmStateSize > 0 ? `with ${formatBytes(s.vmStateSize)} of VM state (RAM)` : "disk only",
    flagged: flagged.has(s.id),
  }));
  const clock = now.getTime() / 1000;
  const figure: TimelineFigure = {
    kind: "timeline",
    title: "Snapshot timeline",
    events,
    caption: `${events.length} internal snapshot${events.length === 1 ? "" : "s"} by creation date (UTC, as recorded in the snapshot table); ⚠ marks dates the audit flagged (future, before 2008, or out of order with the ids).`,
  };
  if (events.some((e) => e.time > clock)) figure.reference = { time: clock, label: "audit clock" };
  return figure;
}
