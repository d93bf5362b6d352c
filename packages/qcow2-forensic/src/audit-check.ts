import type { ByteSource, CheckProblem, CheckReport, Qcow2Info } from "@x/qcow2-core";
import { readSafely } from "@x/qcow2-core";
import type { CitedEntry, Qcow2Anomaly } from "./anomaly.js";
import { headerOffsetEntries } from "./audit-header-offsets.js";
import { MAX_CITED } from "./kinds/cite.js";

/** Problems QEMU's check counts (corruptions or check errors) that no other finding covers. */
const INVALID_KINDS: ReadonlySet<CheckProblem["kind"]> = new Set([
  "reserved-bits",
  "copied-flag",
  "invalid-entry",
  "check-error",
]);

/** At most this many leaked clusters are read to count residue; the count itself is exact. */
export const MAX_RESIDUE_CLUSTERS = 1 << 20;
/** Trailing data is hashed up to this many bytes. */
export const MAX_TRAILING_HASH = 64 * 1024 * 1024;

const entries = (problems: readonly CheckProblem[]): CitedEntry[] =>
  problems.slice(0, MAX_CITED).map((p) => ({
    hostOffset: p.hostOffset ?? Number.NaN,
    message: p.message,
    ...(p.owners ? { owners: p.owners } : {}),
    ...(p.entryOffset === undefined ? {} : { entryOffset: p.entryOffset }),
  }));

/**
 * Header-level entries first (they name the field), then check's own, less
 * those that cite a header field already listed; the count stays exact.
 */
function merge(
  header: readonly CitedEntry[],
  found: readonly CheckProblem[],
): { count: number; entries: CitedEntry[] } {
  const cited = new Set(header.map((e) => e.entryOffset));
  const rest = found.filter((p) => p.entryOffset === undefined || !cited.has(p.entryOffset));
  return {
    count: header.length + rest.length,
    entries: [...header, ...entries(rest)].slice(0, MAX_CITED),
  };
}

/** The header-level offset findings alone, for when `check` did not run. */
export function auditHeaderOffsets(info: Qcow2Info, fileSize: number): Qcow2Anomaly[] {
  const header = headerOffsetEntries(info, fileSize);
  const out: Qcow2Anomaly[] = [];
  if (header.beyondEof.length > 0)
    out.push({
      code: "QCOW2-OFFSET-BEYOND-EOF",
      count: header.beyondEof.length,
      entries: header.beyondEof,
      fileSize,
    });
  if (header.misaligned.length > 0)
    out.push({
      code: "QCOW2-MISALIGNED-OFFSET",
      count: header.misaligned.length,
      entries: header.misaligned,
    });
  return out;
}

function isAllZero(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}

/**
 * Grades what `check` found: leaked clusters (reading them to count those
 * holding data), refcounts too low, orphans, overlaps, offsets past end of
 * file, misaligned offsets, compressed clusters.
 */
export async function auditCheck(
  source: ByteSource,
  info: Qcow2Info,
  report: CheckReport,
): Promise<Qcow2Anomaly[]> {
  const out: Qcow2Anomaly[] = [];
  const header = headerOffsetEntries(info, source.size);
  const cs = report.clusterSize;
  const of = (kind: CheckProblem["kind"]) => report.problems.filter((p) => p.kind === kind);

  if (report.leaks > 0) {
    let nonZero = 0;
    const scanned = Math.min(report.leakedClusters.length, MAX_RESIDUE_CLUSTERS);
    for (const k of report.leakedClusters.slice(0, scanned)) {
      if (k * cs >= source.size) continue;
      if (!isAllZero(await readSafely(source, k * cs, cs))) nonZero++;
    }
    out.push({
      code: "QCOW2-LEAKED-CLUSTERS",
      count: report.leaks,
      clusters: of("leak")
        .slice(0, MAX_CITED)
        .map((p) => ({
          hostOffset: p.hostOffset ?? 0,
          stored: p.stored ?? 0,
          computed: p.computed ?? 0,
        })),
      nonZero,
      scanned,
      clusterSize: cs,
    });
  }
  const tooLow = of("refcount-too-low").filter((p) => p.stored !== undefined);
  const orphans = tooLow.filter((p) => p.stored === 0);
  const mismatched = tooLow.filter((p) => (p.stored ?? 0) > 0);
  if (report.orphanedClusters.length > 0) {
    out.push({
      code: "QCOW2-ORPHAN-CLUSTERS",
      count: report.orphanedClusters.length,
      allocated: report.allocatedClusters,
      orphans: orphans
        .slice(0, MAX_CITED)
        .map((p) => ({ hostOffset: p.hostOffset ?? 0, guestOffset: -1 })),
      clusterSize: cs,
    });
  }
  const overflow = of("refcount-overflow");
  if (mismatched.length > 0 || overflow.length > 0) {
    out.push({
      code: "QCOW2-REFCOUNT-MISMATCH",
      count: mismatched.length + overflow.length,
      clusters: [...mismatched, ...overflow].slice(0, MAX_CITED).map((p) => ({
        hostOffset: p.hostOffset ?? 0,
        stored: p.stored ?? 0,
        computed: p.computed ?? 0,
      })),
      clusterSize: cs,
    });
  }
  const overlaps = of("overlap");
  if (overlaps.length > 0)
    out.push({
      code: "QCOW2-METADATA-OVERLAP",
      count: overlaps.length,
      entries: entries(overlaps),
      clusterSize: cs,
    });
  const beyond = merge(header.beyondEof, of("beyond-eof"));
  if (beyond.count > 0)
    out.push({ code: "QCOW2-OFFSET-BEYOND-EOF", ...beyond, fileSize: source.size });
  const misaligned = merge(header.misaligned, of("misaligned"));
  if (misaligned.count > 0) out.push({ code: "QCOW2-MISALIGNED-OFFSET", ...misaligned });
  // A refcount block's own refcount (no stored count to compare) is an entry error too.
  const invalid = report.problems.filter(
    (p) => INVALID_KINDS.has(p.kind) || (p.kind === "refcount-too-low" && p.stored === undefined),
  );
  if (invalid.length > 0)
    out.push({
      code: "QCOW2-INVALID-ENTRY",
      count: invalid.length,
      entries: entries(invalid),
      corruptions: invalid.filter((p) => p.corruption).length,
    });
  if (report.compressedClusters > 0) {
    out.push({
      code: "QCOW2-COMPRESSED-CLUSTERS",
      count: report.compressedClusters,
      compressionType: info.compressionTypeName,
    });
  }
  const trailing = await auditTrailing(source, report.imageEndOffset);
  if (trailing !== null) out.push(trailing);
  return out;
}

/** Non-zero bytes after the image end offset. */
export async function auditTrailing(
  source: ByteSource,
  imageEnd: number,
): Promise<Qcow2Anomaly | null> {
  if (imageEnd <= 0 || imageEnd >= source.size) return null;
  const length = source.size - imageEnd;
  const hashedLength = Math.min(length, MAX_TRAILING_HASH);
  let nonZero = 0;
  const chunks: Uint8Array[] = [];
  for (let at = imageEnd; at < source.size; at += 4 * 1024 * 1024) {
    const chunk = await readSafely(source, at, Math.min(4 * 1024 * 1024, source.size - at));
    for (let i = 0; i < chunk.length; i++) if (chunk[i] !== 0) nonZero++;
    if (at - imageEnd < hashedLength)
      chunks.push(chunk.subarray(0, Math.min(chunk.length, hashedLength - (at - imageEnd))));
  }
  if (nonZero === 0) return null;
  const joined = new Uint8Array(hashedLength);
  let pos = 0;
  for (const c of chunks) {
    joined.set(c, pos);
    pos += c.length;
  }
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", joined));
  const sha256 = [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
  return {
    code: "QCOW2-TRAILING-DATA",
    offset: imageEnd,
    length,
    sha256,
    hashedLength,
    nonZeroBytes: nonZero,
  };
}
