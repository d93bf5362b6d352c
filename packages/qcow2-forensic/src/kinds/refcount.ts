import type { Evidence } from "@x/report";
import type { AnomalyOf } from "../anomaly.js";
import { atHost, firstAt, hex, inStructure, MAX_CITED } from "./cite.js";
import type { AnomalyKind } from "./kind.js";

const TABLE = "QCOW2 refcount table";

export const orphanClusters: AnomalyKind<AnomalyOf<"QCOW2-ORPHAN-CLUSTERS">> = {
  severity: "medium",
  category: "integrity",
  meaning: "clusters in use by the image's metadata have a stored refcount of 0",
  note: (a) =>
    `${a.count} of ${a.allocated} allocated cluster(s) are referenced through L1/L2 yet have a host refcount of 0${firstAt(a.orphans.map((o) => o.hostOffset))} — consistent with an interrupted or tampered refcount update; QEMU counts each as a corruption and may reallocate the cluster, overwriting its data`,
  evidence: (a) => {
    const out: Evidence[] = [
      inStructure("orphan_clusters", String(a.count), TABLE),
      inStructure("allocated_clusters", String(a.allocated), TABLE),
    ];
    for (const o of a.orphans.slice(0, MAX_CITED)) {
      out.push(
        atHost(
          "orphan_cluster",
          o.guestOffset >= 0 ? `guest ${hex(o.guestOffset)}` : "metadata",
          o.hostOffset,
          a.clusterSize || undefined,
          "data cluster",
        ),
      );
    }
    return out;
  },
};

export const leakedClusters: AnomalyKind<AnomalyOf<"QCOW2-LEAKED-CLUSTERS">> = {
  severity: "medium",
  category: "hidden-data",
  meaning:
    "clusters with a stored refcount > 0 that nothing references: residue of deleted snapshots or interrupted writes",
  note: (a) =>
    `${a.count} cluster(s) are marked in use by the refcount table but referenced by nothing${firstAt(a.clusters.map((c) => c.hostOffset))}; ${a.nonZero} of the ${a.scanned} read hold non-zero bytes — consistent with residue of a deleted snapshot or an interrupted write; the bytes remain recoverable (carve them)`,
  evidence: (a) => {
    const out: Evidence[] = [
      inStructure("leaked_clusters", String(a.count), TABLE),
      inStructure("leaked_clusters_with_data", `${a.nonZero} of ${a.scanned} read`, TABLE),
    ];
    for (const c of a.clusters.slice(0, MAX_CITED)) {
      out.push(
        atHost(
          "leaked_cluster",
          `refcount=${c.stored ?? "?"} reference=${c.computed ?? 0}`,
          c.hostOffset,
          a.clusterSize,
          "leaked cluster",
        ),
      );
    }
    return out;
  },
};

export const refcountMismatch: AnomalyKind<AnomalyOf<"QCOW2-REFCOUNT-MISMATCH">> = {
  severity: "medium",
  category: "integrity",
  meaning:
    "a stored refcount is lower than the references found (other than 0): a later write could free a cluster still in use",
  note: (a) =>
    `${a.count} cluster(s) have a stored refcount lower than the number of references${firstAt(a.clusters.map((c) => c.hostOffset))} — consistent with a refcount update lost in a crash or edited metadata; shared data may be overwritten by later writes`,
  evidence: (a) => [
    inStructure("mismatched_clusters", String(a.count), TABLE),
    ...a.clusters
      .slice(0, MAX_CITED)
      .map((c) =>
        atHost(
          "refcount_mismatch",
          `refcount=${c.stored} reference=${c.computed}`,
          c.hostOffset,
          a.clusterSize,
          "cluster",
        ),
      ),
  ],
};
