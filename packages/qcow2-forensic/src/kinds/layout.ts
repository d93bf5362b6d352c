import type { AnomalyOf } from "../anomaly.js";
import { atHost, firstAt, hex, inStructure, MAX_CITED } from "./cite.js";
import type { AnomalyKind } from "./kind.js";

export const metadataOverlap: AnomalyKind<AnomalyOf<"QCOW2-METADATA-OVERLAP">> = {
  severity: "high",
  category: "integrity",
  meaning: "two metadata structures, or metadata and guest data, share a host cluster",
  note: (a) =>
    `${a.count} host cluster(s) are used by two different structures${firstAt(a.entries.map((e) => e.hostOffset))} — consistent with corrupted or deliberately crafted metadata; what one structure reads there is the other's bytes`,
  evidence: (a) => [
    inStructure("overlapping_clusters", String(a.count), "QCOW2 metadata"),
    ...a.entries
      .slice(0, MAX_CITED)
      .map((e) =>
        atHost(
          "overlap",
          (e.owners ?? []).join(" + "),
          e.hostOffset,
          a.clusterSize,
          "shared cluster",
        ),
      ),
  ],
};

export const offsetBeyondEof: AnomalyKind<AnomalyOf<"QCOW2-OFFSET-BEYOND-EOF">> = {
  severity: "high",
  category: "integrity",
  meaning: "a table or data offset points past the end of the file",
  note: (a) =>
    `${a.count} offset(s) point past the end of the ${a.fileSize}-byte file${firstAt(a.entries.map((e) => e.hostOffset))} — consistent with a truncated acquisition or corrupted metadata; QEMU reads zeros there`,
  evidence: (a) => [
    inStructure("file_size", String(a.fileSize), "QCOW2 image file"),
    ...a.entries
      .slice(0, MAX_CITED)
      .map((e) =>
        atHost(
          "beyond_eof",
          e.message,
          e.hostOffset,
          undefined,
          (e.owners ?? ["offset"]).join(" "),
        ),
      ),
  ],
};

export const misalignedOffset: AnomalyKind<AnomalyOf<"QCOW2-MISALIGNED-OFFSET">> = {
  severity: "high",
  category: "integrity",
  meaning: "an offset that must be cluster-aligned is not",
  note: (a) =>
    `${a.count} offset(s) that must be cluster-aligned are not${firstAt(a.entries.map((e) => e.hostOffset))} — consistent with corrupted or hand-edited metadata; QEMU refuses to read through them`,
  evidence: (a) =>
    a.entries
      .slice(0, MAX_CITED)
      .map((e) => atHost("misaligned", e.message, e.hostOffset, 8, "table entry")),
};

export const trailingData: AnomalyKind<AnomalyOf<"QCOW2-TRAILING-DATA">> = {
  severity: "medium",
  category: "hidden-data",
  meaning:
    "non-zero bytes after the image's end offset: data appended or hidden past what QEMU uses",
  note: (a) =>
    `${a.length} byte(s) follow the image end offset ${hex(a.offset)}, ${a.nonZeroBytes} of them non-zero — consistent with data appended to the image file, outside anything QEMU reads`,
  evidence: (a) => [
    atHost("trailing_data", `${a.length} bytes`, a.offset, a.length, "after image end"),
    atHost(
      "sha256",
      a.hashedLength === a.length ? a.sha256 : `${a.sha256} (first ${a.hashedLength} bytes)`,
      a.offset,
      a.hashedLength,
      "after image end",
    ),
  ],
};
