import {
  type BackingResolver,
  type ByteSource,
  check,
  type HeaderProblem,
  inspect,
  isQcow2Error,
  type Qcow2Error,
  qemuOpenRefusal,
  readBitmaps,
  readLuksHeader,
  readSnapshots,
  type SnapshotTable,
  walkBackingChain,
} from "@x/qcow2-core";
import { compareSeverity } from "@x/report";
import type { Qcow2Anomaly } from "./anomaly.js";
import { audit } from "./audit.js";
import { auditCheck, auditHeaderOffsets } from "./audit-check.js";
import { auditGuest, type GuestTime } from "./audit-guest.js";
import { auditBitmaps, auditChain, auditLuks } from "./audit-metadata.js";
import { auditSnapshotTable } from "./audit-snapshots.js";
import type { GuestOpener } from "./guest-opener.js";
import { KINDS } from "./kinds/index.js";

/** Options for {@link auditImage}. */
export interface AuditOptions {
  /** The audit clock for snapshot date checks (default: now). Injectable for reproducible reports. */
  now?: Date;
  /** Header-level findings only: no consistency check, no residue reads (triage of many images). */
  quick?: boolean;
  /** Opens backing files to walk the chain; without it the chain is not followed. */
  resolveBacking?: BackingResolver;
  maxBackingDepth?: number;
  /**
   * Opens the guest disk of a state (active, snapshot, backing file) so the
   * audit looks inside the guest: partitions, filesystems, boot code (see
   * `qcow2GuestOpener`; `auditPath` supplies one). Without it, or with
   * `quick`, no guest finding is produced.
   */
  guest?: GuestOpener;
  /** Receives the guest filesystems' dated facts (creation, last mount, last write) for timelines. */
  onGuestTimes?: (times: GuestTime[]) => void;
}

/** Sorts anomalies by severity (highest first), then code; stable. */
export function sortAnomalies(anomalies: readonly Qcow2Anomaly[]): Qcow2Anomaly[] {
  return anomalies
    .map((a, i) => ({ a, i }))
    .sort(
      (x, y) =>
        compareSeverity(KINDS[y.a.code].severity, KINDS[x.a.code].severity) ||
        x.a.code.localeCompare(y.a.code) ||
        x.i - y.i,
    )
    .map((x) => x.a);
}

/**
 * Audits an image in one pass over its metadata: header, snapshot table,
 * bitmaps, LUKS header, backing chain (names only), and the full
 * consistency check with leaked-cluster residue and trailing data.
 * Malformed input (not QCOW, truncated header) is a thrown `Qcow2Error`,
 * never an empty list. Sorted by severity.
 *
 * @example
 * ```ts
 * const anomalies = await auditImage(memorySource(bytes), { now: new Date("2026-01-01") });
 * ```
 */
export async function auditImage(
  source: ByteSource,
  options: AuditOptions = {},
): Promise<Qcow2Anomaly[]> {
  const info = await inspect(source);
  const out = audit(info);
  let snapshots: SnapshotTable | undefined;
  if (info.version !== 1) {
    snapshots = await readSnapshots(source, info);
    out.push(...auditSnapshotTable(snapshots, options.now ?? new Date()));
    out.push(...auditBitmaps(await readBitmaps(source, info)));
    out.push(...auditLuks(await readLuksHeader(source, info)));
  }
  // Unknown incompatible bits have a finding of their own.
  const refusal = qemuOpenRefusal(info, "read", snapshots);
  const refused = refusal !== null && info.incompatibleFeatures.unknownBits.length === 0;
  if (refused)
    addHeaderProblem(out, {
      field: refusal.field,
      value: refusal.value,
      message: `QEMU refuses to open this image: ${refusal.message}`,
    });
  if (info.backingFile !== null && options.resolveBacking !== undefined) {
    const walk = await walkBackingChain(
      info,
      source.name,
      options.resolveBacking,
      options.maxBackingDepth,
    );
    try {
      out.push(...auditChain(info, source.name, walk));
    } finally {
      for (const link of walk.links) await link.source.close?.();
    }
  }
  let checked = false;
  if (!options.quick && info.version !== 1) {
    try {
      out.push(...(await auditCheck(source, info, await check(source, info))));
      checked = true;
    } catch (e) {
      if (!isQcow2Error(e) || (e as Qcow2Error).code === "IO") throw e;
      // QEMU would not check the image; say so unless another finding already does.
      const message = (e as Qcow2Error).message;
      if (info.incompatibleFeatures.unknownBits.length === 0 && message !== refusal?.message)
        addHeaderProblem(out, {
          field: (e as Qcow2Error).field ?? "header",
          value: (e as Qcow2Error).value ?? "",
          message: `qemu-img check refuses this image: ${message}`,
        });
    }
  }
  if (!checked && info.version !== 1) out.push(...auditHeaderOffsets(info, source.size));
  if (!options.quick && options.guest !== undefined) {
    const guest = await auditGuest(options.guest, snapshots?.snapshots ?? [], {
      ...(options.now === undefined ? {} : { now: options.now }),
      backing: info.backingFile?.name ?? null,
      fileSize: source.size,
    });
    out.push(...guest.anomalies);
    options.onGuestTimes?.(guest.times);
  }
  return sortAnomalies(out);
}

function addHeaderProblem(out: Qcow2Anomaly[], problem: HeaderProblem): void {
  const existing = out.find((a) => a.code === "QCOW2-HEADER-INCONSISTENT");
  if (existing?.code === "QCOW2-HEADER-INCONSISTENT") existing.problems.push(problem);
  else out.push({ code: "QCOW2-HEADER-INCONSISTENT", problems: [problem] });
}
