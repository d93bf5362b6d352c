import type { AnomalyOf } from "../anomaly.js";
import { atHost, hex, hostAt, inStructure } from "./cite.js";
import type { AnomalyKind } from "./kind.js";

const TABLE = "QCOW2 snapshot table";
const iso = (sec: number) => {
  const d = new Date(sec * 1000);
  return Number.isNaN(d.getTime()) ? String(sec) : d.toISOString();
};

export const snapshot: AnomalyKind<AnomalyOf<"QCOW2-SNAPSHOT">> = {
  severity: "low",
  category: "history",
  meaning: "one internal snapshot: a recoverable point-in-time guest state",
  note: (a) =>
    `internal snapshot \`${a.name}\` (id ${a.id}) captured at unix time ${a.dateSec} (${iso(a.dateSec)}) — a recoverable point-in-time guest state to examine`,
  evidence: (a) => {
    const location = hostAt(a.offset, undefined, TABLE);
    return [
      { field: "snapshot_name", value: a.name, location },
      { field: "snapshot_id", value: a.id, location },
      { field: "date_unix_secs", value: String(a.dateSec), location },
      { field: "vm_state_size", value: String(a.vmStateSize), location },
    ];
  },
};

export const snapshotVmstate: AnomalyKind<AnomalyOf<"QCOW2-SNAPSHOT-VMSTATE">> = {
  severity: "medium",
  category: "history",
  meaning: "a snapshot carries the VM's RAM and device state: a memory-forensics opportunity",
  note: (a) =>
    `snapshot \`${a.name}\` (id ${a.id}) carries ${a.size} bytes of VM state — consistent with a live snapshot (savevm); the guest's RAM at that moment can be extracted (qcow2-forensic vmstate) for memory forensics`,
  evidence: (a) => [
    atHost("vm_state_size", String(a.size), a.offset, undefined, TABLE),
    atHost("snapshot_name", a.name, a.offset, undefined, TABLE),
  ],
};

export const snapshotTimeAnomaly: AnomalyKind<AnomalyOf<"QCOW2-SNAPSHOT-TIME-ANOMALY">> = {
  severity: "medium",
  category: "history",
  meaning:
    "a snapshot is dated in the future of the audit clock, before 2008, or out of order with its id sequence",
  note: (a) => {
    const when = `${a.dateSec} (${iso(a.dateSec)})`;
    if (a.reason === "future")
      return `snapshot \`${a.name}\` (id ${a.id}) is dated ${when}, after the audit clock ${iso(a.reference)} — consistent with a wrong host clock or an edited snapshot table`;
    if (a.reason === "before-2008")
      return `snapshot \`${a.name}\` (id ${a.id}) is dated ${when}, before QCOW2 existed (2008) — consistent with an unset host clock or an edited snapshot table`;
    return `snapshot \`${a.name}\` (id ${a.id}) is dated ${when}, earlier than a snapshot with a lower id (${iso(a.reference)}) — consistent with a clock change between snapshots or an edited snapshot table`;
  },
  evidence: (a) => [
    atHost("date_unix_secs", String(a.dateSec), a.offset + 16, 4, TABLE),
    atHost("reason", a.reason, a.offset, undefined, TABLE),
    atHost("reference_unix_secs", String(a.reference), a.offset, undefined, TABLE),
  ],
};

export const snapshotTableTruncated: AnomalyKind<AnomalyOf<"QCOW2-SNAPSHOT-TABLE-TRUNCATED">> = {
  severity: "high",
  category: "integrity",
  meaning: "the snapshot table ends before the number of entries the header declares",
  note: (a) =>
    `the header declares ${a.expected} snapshot(s) but the file holds only ${a.parsed}` +
    (a.pastEof > 0
      ? `; ${a.pastEof} entr${a.pastEof === 1 ? "y lies" : "ies lie"} past end of file, which QEMU reads as zeros and lists as snapshots without a name dated 1970`
      : "") +
    ` — consistent with a truncated acquisition or a damaged table; ${a.reason}`,
  evidence: (a) => [
    atHost("nb_snapshots", String(a.expected), 60, 4, "QCOW2 header"),
    inStructure("snapshots_in_file", String(a.parsed), TABLE),
    ...(a.pastEof > 0
      ? [
          atHost("entries_past_eof", String(a.pastEof), a.offset, undefined, TABLE),
          atHost("last_entry_past_eof", hex(a.lastOffset), a.lastOffset, undefined, TABLE),
        ]
      : []),
  ],
};
