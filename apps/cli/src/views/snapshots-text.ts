import type { SnapshotTable } from "@x/qcow2-core";
import { isoDate, safe, vmClock } from "./format.js";

/** The snapshot table as aligned columns, like `qemu-img snapshot -l`, with ISO dates. */
export function renderSnapshotsText(path: string, table: SnapshotTable): string {
  const header = ["ID", "TAG", "VM SIZE", "DATE (UTC)", "VM CLOCK", "ICOUNT"];
  const body = table.snapshots.map((s) => [
    safe(s.id),
    safe(s.name),
    String(s.vmStateSize),
    isoDate(s.dateSec, s.dateNsec),
    vmClock(s.vmClockSec, s.vmClockNsec),
    s.icount === null ? "" : String(s.icount),
  ]);
  const all = [header, ...body];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  let out = `Snapshot list of ${safe(path)}: ${table.snapshots.length} of ${table.expected}\n`;
  if (table.snapshots.length > 0) out += `${all.map(line).join("\n")}\n`;
  if (table.truncated) out += "warning: snapshot table is truncated\n";
  for (const p of table.problems) out += `warning: ${safe(p.message)}\n`;
  return out;
}
