import type { Evidence } from "@x/report";
import type { AnomalyOf, CitedEntry } from "../anomaly.js";
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
    `${a.count} offset(s) point past the end of the ${a.fileSize}-byte file${firstField(a.entries)} — consistent with a truncated acquisition or corrupted metadata; QEMU reads zeros there`,
  evidence: (a) => [
    inStructure("file_size", String(a.fileSize), "QCOW2 image file"),
    ...a.entries.slice(0, MAX_CITED).map((e) => citeEntry(e, "beyond_eof", "offset")),
  ],
};

/** "(first: l1_table_offset = 0x…)" or "(first at host offset 0x…)" for notes. */
function firstField(entries: readonly CitedEntry[]): string {
  const first = entries[0];
  if (first?.field !== undefined) return ` (first: ${first.field} = ${first.value})`;
  return firstAt(entries.map((e) => e.hostOffset));
}

/**
 * An entry as evidence: at the field or entry holding the bad offset when
 * known (always inside the file), else at the offset itself; the message
 * carries the value exactly.
 */
function citeEntry(e: CitedEntry, field: string, fallback: string): Evidence {
  const structure = e.structure ?? (e.owners ?? [fallback]).join(" ");
  if (e.entryOffset !== undefined)
    return atHost(e.field ?? field, e.message, e.entryOffset, e.width, structure);
  return atHost(field, e.message, e.hostOffset, undefined, structure);
}

export const misalignedOffset: AnomalyKind<AnomalyOf<"QCOW2-MISALIGNED-OFFSET">> = {
  severity: "high",
  category: "integrity",
  meaning: "an offset that must be cluster-aligned is not",
  note: (a) =>
    `${a.count} offset(s) that must be cluster-aligned are not${firstField(a.entries)} — consistent with corrupted or hand-edited metadata; QEMU refuses to read through them`,
  evidence: (a) =>
    a.entries
      .slice(0, MAX_CITED)
      .map((e) =>
        citeEntry(
          { ...e, entryOffset: e.entryOffset ?? e.hostOffset, width: e.width ?? 8 },
          "misaligned",
          "table entry",
        ),
      ),
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

export const invalidEntry: AnomalyKind<AnomalyOf<"QCOW2-INVALID-ENTRY">> = {
  severity: "high",
  category: "integrity",
  meaning:
    "metadata entries qemu-img check counts as corrupt: reserved bits set, a copied flag that contradicts the refcount, invalid subcluster bitmaps, compressed clusters where none may be, incomplete snapshot table entries, invalid bitmap table entries",
  note: (a) =>
    `${a.count} metadata entr${a.count === 1 ? "y is" : "ies are"} invalid as qemu-img check reads ${a.count === 1 ? "it" : "them"} (${a.corruptions} counted as corruptions)${firstAt(a.entries.map((e) => e.hostOffset))} — consistent with corrupted, hand-edited or non-QEMU-written metadata`,
  evidence: (a) =>
    a.entries
      .slice(0, MAX_CITED)
      .map((e) =>
        citeEntry(
          { ...e, entryOffset: e.entryOffset ?? e.hostOffset },
          "invalid_entry",
          "metadata entry",
        ),
      ),
};
