import type { OrphanCluster } from "@x/qcow2-core";

/**
 * Every anomaly the auditor can observe, as plain data. The `code` is the
 * stable finding code; the kind table (`kinds/`) holds each code's severity,
 * note and evidence builder.
 */
export type Qcow2Anomaly =
  | { code: "QCOW2-CORRUPT" }
  | {
      code: "QCOW2-BACKING-FILE";
      name: string | null;
      format: string | null;
      offset: number;
      size: number;
    }
  | { code: "QCOW2-ENCRYPTED"; method: number; methodName: string }
  | { code: "QCOW2-EXTERNAL-DATA"; dataFile: string | null }
  | {
      code: "QCOW2-ORPHAN-CLUSTERS";
      count: number;
      allocated: number;
      orphans: OrphanCluster[];
      clusterSize: number;
    }
  | { code: "QCOW2-INTERNAL-SNAPSHOTS"; count: number }
  | {
      code: "QCOW2-SNAPSHOT";
      id: string;
      name: string;
      dateSec: number;
      dateNsec: number;
      vmStateSize: number;
      /** Host offset of the snapshot table entry. */
      offset: number;
    }
  | { code: "QCOW2-DIRTY" }
  | { code: "QCOW2-QCOW1" };

/** Every anomaly code. */
export type AnomalyCode = Qcow2Anomaly["code"];

/** The anomaly variant for `code`. */
export type AnomalyOf<C extends AnomalyCode> = Extract<Qcow2Anomaly, { code: C }>;
