import type { AnomalyOf } from "../anomaly.js";
import { atHost } from "./cite.js";
import type { AnomalyKind } from "./kind.js";

const FIELD_OFFSET = { incompatible: 72, compatible: 80, autoclear: 88 } as const;

export const unknownIncompatible: AnomalyKind<AnomalyOf<"QCOW2-UNKNOWN-INCOMPATIBLE-FEATURE">> = {
  severity: "high",
  category: "format",
  meaning:
    "an incompatible feature bit QEMU does not define is set: the image must not be read as plain QCOW2",
  note: (a) =>
    `incompatible feature bit(s) ${a.bits.join(", ")} are set but unknown to QEMU — consistent with a newer or non-QEMU writer, or a tampered header; QEMU refuses to open the image and guest data cannot be trusted`,
  evidence: (a) => [
    atHost("incompatible_features", a.value, FIELD_OFFSET.incompatible, 8, "QCOW2 header"),
  ],
};

export const unknownFeature: AnomalyKind<AnomalyOf<"QCOW2-UNKNOWN-FEATURE">> = {
  severity: "low",
  category: "format",
  meaning: "a compatible or autoclear feature bit QEMU does not define is set",
  note: (a) =>
    `${a.fields.map((f) => `${f.kind} feature bit(s) ${f.bits.join(", ")}`).join(" and ")} are set but unknown to QEMU — consistent with a newer or non-QEMU writer; QEMU ignores them (and clears unknown autoclear bits when it writes)`,
  evidence: (a) =>
    a.fields.map((f) =>
      atHost(`${f.kind}_features`, f.value, FIELD_OFFSET[f.kind], 8, "QCOW2 header"),
    ),
};

export const lazyRefcounts: AnomalyKind<AnomalyOf<"QCOW2-LAZY-REFCOUNTS">> = {
  severity: "info",
  category: "integrity",
  meaning: "lazy refcounts are enabled: after a crash the refcounts may lag the data",
  note: () =>
    "lazy refcounts are enabled (compatible bit 0) — refcount updates are deferred, so after a crash refcount anomalies are expected rather than suspicious",
  evidence: () => [
    atHost("compatible_features", "lazy-refcounts", FIELD_OFFSET.compatible, 8, "QCOW2 header"),
  ],
};

export const compressedClusters: AnomalyKind<AnomalyOf<"QCOW2-COMPRESSED-CLUSTERS">> = {
  severity: "info",
  category: "format",
  meaning: "the image holds compressed clusters",
  note: (a) =>
    `${a.count} cluster(s) are stored ${a.compressionType}-compressed — consistent with an image made by qemu-img convert -c or a compressed backup; raw carving of the file will not find their contents`,
  evidence: (a) => [
    atHost("compressed_clusters", String(a.count), 104, 1, "QCOW2 header"),
    { field: "compression_type", value: a.compressionType },
  ],
};
