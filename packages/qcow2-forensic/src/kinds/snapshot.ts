import { hostLocation } from "@x/report";
import type { AnomalyOf } from "../anomaly.js";
import type { AnomalyKind } from "./kind.js";

export const snapshot: AnomalyKind<AnomalyOf<"QCOW2-SNAPSHOT">> = {
  severity: "low",
  category: "history",
  meaning: "one internal snapshot: a recoverable point-in-time guest state",
  note: (a) =>
    `internal snapshot \`${a.name}\` (id ${a.id}) captured at unix time ${a.dateSec} (${new Date(a.dateSec * 1000).toISOString()}) — a recoverable point-in-time guest state to examine`,
  evidence: (a) => {
    const location = hostLocation(a.offset, undefined, "QCOW2 snapshot table");
    return [
      { field: "snapshot_name", value: a.name, location },
      { field: "snapshot_id", value: a.id, location },
      { field: "date_unix_secs", value: String(a.dateSec), location },
      { field: "vm_state_size", value: String(a.vmStateSize), location },
    ];
  },
};
