import {
  type BackingResolver,
  type ByteSource,
  type ChainWalk,
  type CheckReport,
  check,
  type HeaderProblem,
  inspect,
  isQcow2Error,
  type Qcow2Error,
  type Qcow2Info,
  qemuOpenRefusal,
  readBitmaps,
  readLuksHeader,
  readSnapshots,
  SnapshotDivergence,
  type SnapshotTable,
  walkBackingChain,
} from "@x/qcow2-core";
import { compareSeverity } from "@x/report";
import type { AnomalyCode, Qcow2Anomaly } from "./anomaly.js";
import { audit } from "./audit.js";
import { auditCheck, auditHeaderOffsets } from "./audit-check.js";
import { auditDivergence } from "./audit-divergence.js";
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
  /** Have the consistency check summarise the host file into this many cells (for a host-file map). */
  census?: { cells: number };
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

/** One backing file of the chain as found by name (its file is closed again). */
export interface ChainFileFacts {
  depth: number;
  /** The name recorded by the referring image. */
  name: string;
  /** The file it resolved to. */
  path: string;
  format: "qcow2" | "qcow" | "raw";
  /** For QCOW images: version and virtual size. */
  version: number | null;
  virtualSize: number | null;
}

/** The backing chain below an image: the files found, then how the walk ended. */
export interface ChainFacts {
  files: ChainFileFacts[];
  outcome: { kind: ChainWalk["outcome"]["kind"]; name: string | null; message: string | null };
}

/**
 * Everything {@link examineImage} looked at, with the anomalies it graded:
 * what a report needs to draw the image beside its findings.
 */
export interface Examination {
  anomalies: Qcow2Anomaly[];
  /** The image's name (its source's name). */
  name: string;
  fileSize: number;
  info: Qcow2Info;
  /** `null` for QCOW1. */
  snapshots: SnapshotTable | null;
  /** `null` when the image has no backing file or no resolver was given. */
  chain: ChainFacts | null;
  /** `null` with `quick`, for QCOW1, or when qemu-img check would refuse the image. */
  check: CheckReport | null;
}

function chainFacts(walk: ChainWalk): ChainFacts {
  const o = walk.outcome;
  return {
    files: walk.links.map((l) => ({
      depth: l.depth,
      name: l.name,
      path: l.source.name,
      format: l.format,
      version: l.info?.version ?? null,
      virtualSize: l.info?.virtualSize ?? null,
    })),
    outcome: {
      kind: o.kind,
      name: "name" in o ? o.name : null,
      message: o.kind === "complete" ? null : o.error.message,
    },
  };
}

/** Sorts anomalies by severity (highest first), then code; stable. */
export function sortAnomalies(anomalies: readonly Qcow2Anomaly[]): Qcow2Anomaly[] {
  // A code has one severity, so the order is the codes' order with each code's anomalies kept
  // as given: the anomalies can be thousands (one per snapshot), the codes are few. Codes are
  // ASCII and compared by code unit as `sortFindings` does (`localeCompare` would start ICU's
  // collator, about 9 ms, for the same order on these strings).
  const byCode = new Map<AnomalyCode, Qcow2Anomaly[]>();
  for (const a of anomalies) {
    const list = byCode.get(a.code);
    if (list === undefined) byCode.set(a.code, [a]);
    else list.push(a);
  }
  const codes = [...byCode.keys()].sort(
    (x, y) => compareSeverity(KINDS[y].severity, KINDS[x].severity) || (x < y ? -1 : 1),
  );
  return codes.flatMap((code) => byCode.get(code) as Qcow2Anomaly[]);
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
  return (await examineImage(source, options)).anomalies;
}

/**
 * {@link auditImage}, also answering the facts it examined (header, snapshot
 * table, backing chain, consistency check with its census when asked for):
 * enough to draw the image (`drawPictures`) without reading it twice.
 *
 * @example
 * ```ts
 * const exam = await examineImage(source, { census: { cells: 1024 } });
 * exam.check?.census?.cells.length; // ≤ 1024
 * ```
 */
export async function examineImage(
  source: ByteSource,
  options: AuditOptions = {},
): Promise<Examination> {
  const info = await inspect(source);
  const out = audit(info);
  let snapshots: SnapshotTable | undefined;
  let chain: ChainFacts | null = null;
  let report: CheckReport | null = null;
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
      chain = chainFacts(walk);
    } finally {
      for (const link of walk.links) await link.source.close?.();
    }
  }
  // The check reads every snapshot's tables: the divergence of each from the active disk is
  // learnt from them as they pass, not read again.
  const learnt =
    !options.quick && !refused && snapshots?.snapshots.some((s) => s.pastEof === "none")
      ? SnapshotDivergence.of(info, source.size)
      : null;
  const checkFindings: Qcow2Anomaly[] = [];
  let checked = false;
  if (!options.quick && info.version !== 1) {
    try {
      report = await check(source, info, {
        ...(options.census === undefined ? {} : { census: options.census }),
        ...(snapshots === undefined ? {} : { snapshots }),
        ...(learnt === null ? {} : { onTable: learnt.visit }),
      });
      checkFindings.push(...(await auditCheck(source, info, report)));
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
      report = null;
    }
  }
  // How far the active disk moved from each snapshot and from the backing file (metadata only).
  if (!options.quick && !refused)
    out.push(
      ...(await auditDivergence(source, info, snapshots?.snapshots ?? [], checked ? learnt : null)),
    );
  out.push(...checkFindings);
  if (!checked && info.version !== 1) out.push(...auditHeaderOffsets(info, source.size));
  if (!options.quick && options.guest !== undefined) {
    const guest = await auditGuest(options.guest, snapshots?.snapshots ?? [], {
      ...(options.now === undefined ? {} : { now: options.now }),
      backing: info.backingFile?.name ?? null,
      fileSize: source.size,
      // The snapshot table of an image of thousands of snapshots costs milliseconds to decode.
      ...(snapshots === undefined ? {} : { known: { info, snapshots } }),
    });
    out.push(...guest.anomalies);
    options.onGuestTimes?.(guest.times);
  }
  return {
    anomalies: sortAnomalies(out),
    name: source.name,
    fileSize: source.size,
    info,
    snapshots: snapshots ?? null,
    chain,
    check: report,
  };
}

function addHeaderProblem(out: Qcow2Anomaly[], problem: HeaderProblem): void {
  const existing = out.find((a) => a.code === "QCOW2-HEADER-INCONSISTENT");
  if (existing?.code === "QCOW2-HEADER-INCONSISTENT") existing.problems.push(problem);
  else out.push({ code: "QCOW2-HEADER-INCONSISTENT", problems: [problem] });
}
