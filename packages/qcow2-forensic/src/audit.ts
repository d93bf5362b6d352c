import {
  COMPAT_LAZY_REFCOUNTS,
  hasFeature,
  INCOMPAT_CORRUPT,
  INCOMPAT_DIRTY,
  INCOMPAT_EXTERNAL_DATA_FILE,
  type Qcow2Info,
  type Qcow2Snapshot,
  type RefcountReport,
} from "@x/qcow2-core";
import type { Qcow2Anomaly } from "./anomaly.js";

/**
 * Header-level anomalies of an image: the seed's nine facts plus unknown
 * feature bits and extensions, lazy refcounts and header inconsistencies.
 * A clean image yields none.
 *
 * @example
 * ```ts
 * const anomalies = audit(await inspect(source));
 * ```
 */
export function audit(info: Qcow2Info): Qcow2Anomaly[] {
  const out: Qcow2Anomaly[] = [];
  if (info.version === 1) out.push({ code: "QCOW2-QCOW1" });
  if (info.backingFile !== null) {
    out.push({
      code: "QCOW2-BACKING-FILE",
      name: info.backingFile.name,
      format: info.backingFormat,
      offset: info.backingFile.offset,
      size: info.backingFile.size,
    });
  }
  if (info.encryptionMethod !== 0) {
    out.push({
      code: "QCOW2-ENCRYPTED",
      method: info.encryptionMethod,
      methodName: methodName(info),
    });
  }
  if (info.snapshotCount > 0)
    out.push({ code: "QCOW2-INTERNAL-SNAPSHOTS", count: info.snapshotCount });
  if (hasFeature(info.incompatibleFeatures, INCOMPAT_DIRTY)) out.push({ code: "QCOW2-DIRTY" });
  if (hasFeature(info.incompatibleFeatures, INCOMPAT_CORRUPT)) out.push({ code: "QCOW2-CORRUPT" });
  if (hasFeature(info.incompatibleFeatures, INCOMPAT_EXTERNAL_DATA_FILE)) {
    out.push({ code: "QCOW2-EXTERNAL-DATA", dataFile: info.externalDataFile });
  }
  if (info.incompatibleFeatures.unknownBits.length > 0) {
    out.push({
      code: "QCOW2-UNKNOWN-INCOMPATIBLE-FEATURE",
      bits: info.incompatibleFeatures.unknownBits,
      value: info.incompatibleFeatures.value,
    });
  }
  const unknownFields = (
    [
      ["compatible", info.compatibleFeatures],
      ["autoclear", info.autoclearFeatures],
    ] as const
  )
    .filter(([, set]) => set.unknownBits.length > 0)
    .map(([kind, set]) => ({ kind, bits: set.unknownBits, value: set.value }));
  if (unknownFields.length > 0) out.push({ code: "QCOW2-UNKNOWN-FEATURE", fields: unknownFields });
  for (const ext of info.extensions) {
    if (ext.name === "unknown")
      out.push({
        code: "QCOW2-UNKNOWN-HEADER-EXTENSION",
        type: ext.typeHex,
        offset: ext.offset,
        length: ext.length,
      });
  }
  if (hasFeature(info.compatibleFeatures, COMPAT_LAZY_REFCOUNTS))
    out.push({ code: "QCOW2-LAZY-REFCOUNTS" });
  const problems = [
    ...info.problems,
    // Pointers above 2^53 are offsets past end of file, reported exactly as such.
    ...info.outOfRange
      .filter((f) => !POINTER_FIELDS.has(f.field))
      .map((f) => ({
        field: f.field,
        value: f.value,
        message: `${f.field} = ${f.value} exceeds 2^53-1`,
      })),
  ];
  if (problems.length > 0) out.push({ code: "QCOW2-HEADER-INCONSISTENT", problems });
  return out;
}

/** Header pointers the header-offset audit reports (QCOW2-OFFSET-BEYOND-EOF) at full width. */
const POINTER_FIELDS: ReadonlySet<string> = new Set([
  "l1_table_offset",
  "refcount_table_offset",
  "snapshots_offset",
  "backing_file_offset",
  "bitmap_directory_offset",
  "crypto_header.offset",
]);

function methodName(info: Qcow2Info): string {
  switch (info.encryption) {
    case "aes":
      return "AES";
    case "luks":
      return "LUKS";
    default:
      return "unknown";
  }
}

/** One `QCOW2-SNAPSHOT` anomaly per snapshot, with its name and creation time. */
export function auditSnapshots(snapshots: readonly Qcow2Snapshot[]): Qcow2Anomaly[] {
  return snapshots.map((s) => ({
    code: "QCOW2-SNAPSHOT",
    id: s.id,
    name: s.name,
    dateSec: s.dateSec,
    dateNsec: s.dateNsec,
    vmStateSize: s.vmStateSize,
    offset: s.offset,
  }));
}

/** A `QCOW2-ORPHAN-CLUSTERS` anomaly when reachable clusters have refcount 0, else `null`. */
export function auditOrphans(report: RefcountReport, clusterSize = 0): Qcow2Anomaly | null {
  if (report.orphanClusters === 0) return null;
  return {
    code: "QCOW2-ORPHAN-CLUSTERS",
    count: report.orphanClusters,
    allocated: report.allocatedClusters,
    orphans: report.orphans,
    clusterSize,
  };
}
