import { type Evidence, hostLocation } from "@x/report";
import type { AnomalyOf } from "../anomaly.js";
import type { AnomalyKind } from "./kind.js";

/** How many individual orphan offsets a finding cites. */
export const MAX_CITED_CLUSTERS = 16;

export const orphanClusters: AnomalyKind<AnomalyOf<"QCOW2-ORPHAN-CLUSTERS">> = {
  severity: "medium",
  category: "integrity",
  meaning: "clusters reachable through the active L1/L2 tables have a stored refcount of 0",
  note: (a) => {
    const first = a.orphans[0];
    const where =
      first === undefined ? "" : ` (first at host offset 0x${first.hostOffset.toString(16)})`;
    return `${a.count} of ${a.allocated} allocated cluster(s) are reachable through L1/L2 yet have a host refcount of 0${where} — consistent with an interrupted or tampered refcount update; QEMU would count each as a corruption and may reallocate the cluster, overwriting guest data`;
  },
  evidence: (a) => {
    const table = { kind: "field", structure: "QCOW2 refcount table" } as const;
    const out: Evidence[] = [
      { field: "orphan_clusters", value: String(a.count), location: table },
      { field: "allocated_clusters", value: String(a.allocated), location: table },
    ];
    for (const o of a.orphans.slice(0, MAX_CITED_CLUSTERS)) {
      out.push({
        field: "orphan_cluster",
        value: `guest 0x${o.guestOffset.toString(16)}`,
        location: hostLocation(o.hostOffset, a.clusterSize, "data cluster"),
      });
    }
    return out;
  },
};
