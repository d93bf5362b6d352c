import type { AnomalyOf } from "../anomaly.js";
import { hostAt } from "./cite.js";
import type { AnomalyKind } from "./kind.js";

/** Host offsets of the header fields the header kinds cite (qcow2.txt "Header"). */
const FIELD = {
  version: { offset: 4, length: 4 },
  backing_file_offset: { offset: 8, length: 8 },
  crypt_method: { offset: 32, length: 4 },
  nb_snapshots: { offset: 60, length: 4 },
  incompatible_features: { offset: 72, length: 8 },
} as const;

const header = (field: keyof typeof FIELD, value: string) => ({
  field,
  value,
  location: hostAt(FIELD[field].offset, FIELD[field].length, "QCOW2 header"),
});

export const corrupt: AnomalyKind<AnomalyOf<"QCOW2-CORRUPT">> = {
  severity: "high",
  category: "integrity",
  meaning:
    "QEMU's corrupt bit (incompatible bit 1) is set: QEMU found inconsistent metadata and stopped writing",
  note: () =>
    "the corrupt bit is set — consistent with QEMU having detected inconsistent metadata in this image and refusing further writes",
  evidence: () => [header("incompatible_features", "corrupt")],
};

export const dirty: AnomalyKind<AnomalyOf<"QCOW2-DIRTY">> = {
  severity: "low",
  category: "integrity",
  meaning: "the dirty bit (incompatible bit 0) is set: the image was not closed cleanly",
  note: () =>
    "the dirty bit is set — consistent with the image not having been closed cleanly (in use or crashed); refcounts may lag the data",
  evidence: () => [header("incompatible_features", "dirty")],
};

export const externalData: AnomalyKind<AnomalyOf<"QCOW2-EXTERNAL-DATA">> = {
  severity: "medium",
  category: "provenance",
  meaning:
    "guest data lives in an external data file (incompatible bit 2): the image is not self-contained",
  note: (a) =>
    a.dataFile === null
      ? "image stores guest data in an external data file — consistent with evidence that is not self-contained"
      : `image stores guest data in external data file \`${a.dataFile}\` — consistent with evidence that is not self-contained; acquire that file too`,
  evidence: (a) => [
    header("incompatible_features", "external-data"),
    ...(a.dataFile === null ? [] : [{ field: "data_file", value: a.dataFile }]),
  ],
};

export const backingFile: AnomalyKind<AnomalyOf<"QCOW2-BACKING-FILE">> = {
  severity: "medium",
  category: "provenance",
  meaning: "the image is an overlay of a backing file and does not alone hold the guest disk",
  note: (a) => {
    const tail = "it is an overlay and does not alone contain the full guest data";
    if (a.name === null) return `image references a backing file — ${tail}`;
    if (a.format === null) return `image references backing file \`${a.name}\` — ${tail}`;
    return `image references backing file \`${a.name}\` (format ${a.format}) — ${tail}`;
  },
  evidence: (a) => [
    {
      field: "backing_file",
      value: a.name ?? "present",
      location: hostAt(a.offset, a.size > 0 ? a.size : undefined, "QCOW2 backing file name"),
    },
    ...(a.format === null ? [] : [{ field: "backing_format", value: a.format }]),
  ],
};

export const internalSnapshots: AnomalyKind<AnomalyOf<"QCOW2-INTERNAL-SNAPSHOTS">> = {
  severity: "low",
  category: "history",
  meaning: "the image carries internal snapshots: earlier guest states to examine",
  note: (a) =>
    `the header declares ${a.count} internal snapshot(s) — additional captured guest states to examine`,
  evidence: (a) => [header("nb_snapshots", String(a.count))],
};

export const qcow1: AnomalyKind<AnomalyOf<"QCOW2-QCOW1">> = {
  severity: "low",
  category: "format",
  meaning: "the image uses the legacy QCOW version 1 format",
  note: () =>
    "image uses the legacy QCOW1 (version 1) format — an obsolete container predating QCOW2's refcounts, snapshots and feature bits",
  evidence: () => [header("version", "1")],
};
