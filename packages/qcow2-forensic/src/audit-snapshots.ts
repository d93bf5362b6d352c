import type { SnapshotTable } from "@x/qcow2-core";
import type { Qcow2Anomaly } from "./anomaly.js";
import { auditSnapshots } from "./audit.js";

/** 2008-01-01T00:00:00Z: QCOW2 (QEMU 0.9.1) did not exist before. */
export const QCOW2_EPOCH = 1_199_145_600;

/**
 * Everything the snapshot table shows: one finding per snapshot, VM state
 * (RAM) carried by snapshots, impossible or out-of-order dates against the
 * audit clock `now`, and a table cut short.
 */
export function auditSnapshotTable(table: SnapshotTable, now: Date): Qcow2Anomaly[] {
  // Entries past end of file are QEMU's zero fill (no name, dated 1970), not
  // snapshots anyone took: they are reported once, as the truncation they are.
  const real = table.snapshots.filter((s) => s.pastEof === "none");
  const out = auditSnapshots(real);
  const clock = Math.floor(now.getTime() / 1000);
  for (const s of real) {
    if (s.vmStateSize > 0)
      out.push({
        code: "QCOW2-SNAPSHOT-VMSTATE",
        id: s.id,
        name: s.name,
        size: s.vmStateSize,
        offset: s.offset,
      });
    const time = (
      reason: "future" | "before-2008" | "out-of-order",
      reference: number,
    ): Qcow2Anomaly => ({
      code: "QCOW2-SNAPSHOT-TIME-ANOMALY",
      id: s.id,
      name: s.name,
      dateSec: s.dateSec,
      offset: s.offset,
      reason,
      reference,
    });
    if (s.dateSec > clock) out.push(time("future", clock));
    else if (s.dateSec < QCOW2_EPOCH) out.push(time("before-2008", QCOW2_EPOCH));
  }
  // QEMU numbers snapshots 1, 2, 3… in creation order: a later id dated before an earlier one is out of order.
  const numbered = real
    .filter((s) => /^\d+$/.test(s.id))
    .sort((a, b) => Number(a.id) - Number(b.id));
  let latest: { date: number } | null = null;
  for (const s of numbered) {
    if (latest !== null && s.dateSec < latest.date) {
      out.push({
        code: "QCOW2-SNAPSHOT-TIME-ANOMALY",
        id: s.id,
        name: s.name,
        dateSec: s.dateSec,
        offset: s.offset,
        reason: "out-of-order",
        reference: latest.date,
      });
    }
    if (latest === null || s.dateSec > latest.date) latest = { date: s.dateSec };
  }
  if (table.truncated) {
    const beyond = table.snapshots.filter((s) => s.pastEof !== "none");
    out.push({
      code: "QCOW2-SNAPSHOT-TABLE-TRUNCATED",
      expected: table.expected,
      parsed: real.length,
      pastEof: beyond.length + table.omittedPastEof,
      offset:
        beyond[0]?.offset ?? table.snapshots[table.snapshots.length - 1]?.offset ?? Number.NaN,
      lastOffset: beyond[beyond.length - 1]?.offset ?? Number.NaN,
      reason: table.problems.map((p) => p.message).join("; "),
    });
  }
  return out;
}
