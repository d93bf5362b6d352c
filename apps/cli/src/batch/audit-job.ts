import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { type GuestTime, type Qcow2Anomaly, toFindings } from "@x/qcow2-forensic";
import { auditPath } from "@x/qcow2-forensic/node";
import {
  buildImageReport,
  type ContainerFacts,
  filterBySeverity,
  type ImageReport,
  type Severity,
} from "@x/report";
import { describeError } from "../errors.js";
import { openWithPassphrases } from "../image-open.js";

/** Everything one image's audit needs; plain data, so it crosses to a worker thread. */
export interface AuditJob {
  path: string;
  quick: boolean;
  backingDir?: string;
  /** Audit clock as epoch milliseconds. */
  now?: number;
  minSeverity?: Severity;
  /** Container digests to record ("sha256", "md5", "sha1"); empty for none. */
  hashContainer: string[];
  passphrases: Uint8Array[];
  /** Findings of one code kept per image before the rest fold (0 = all). */
  maxFindingsPerCode: number;
  /** Collect the guest filesystems' dated facts (for --format timeline/bodyfile). */
  timeline?: boolean;
}

/** One image's report, and the guest filesystem times when the job asked for them. */
export interface AuditResult {
  report: ImageReport;
  guestTimes: GuestTime[];
}

async function containerFacts(
  path: string,
  algorithms: readonly string[],
): Promise<ContainerFacts> {
  const hashes = algorithms.map((a) => [a, createHash(a)] as const);
  for await (const chunk of createReadStream(path, {
    flags: "r",
    highWaterMark: 4 * 1024 * 1024,
  })) {
    for (const [, h] of hashes) h.update(chunk as Buffer);
  }
  return {
    size: (await stat(path)).size,
    hashes: Object.fromEntries(hashes.map(([a, h]) => [a, h.digest("hex")])),
  };
}

/** Audits one image; a failure becomes the report's error, never an exception. */
export async function runAuditJob(job: AuditJob): Promise<AuditResult> {
  let report: ImageReport;
  const guestTimes: GuestTime[] = [];
  try {
    const anomalies: Qcow2Anomaly[] = await auditPath(job.path, {
      ...(job.quick ? { quick: true } : {}),
      ...(job.backingDir === undefined ? {} : { backingDir: job.backingDir }),
      ...(job.now === undefined ? {} : { now: new Date(job.now) }),
      passphrases: job.passphrases,
      ...(job.timeline ? { onGuestTimes: (t: GuestTime[]) => guestTimes.push(...t) } : {}),
    });
    // A passphrase given for the audit must unlock every encrypted image it meets.
    if (job.passphrases.length > 0 && anomalies.some((a) => a.code === "QCOW2-ENCRYPTED")) {
      const base = job.backingDir === undefined ? {} : { backingDir: job.backingDir };
      await (await openWithPassphrases(job.path, base, job.passphrases)).close();
    }
    const findings = toFindings(anomalies, undefined, {
      maxFindingsPerCode: job.maxFindingsPerCode,
    });
    report = buildImageReport(job.path, filterBySeverity(findings, job.minSeverity));
  } catch (e) {
    report = buildImageReport(job.path, [], describeError(e, job.path));
  }
  if (job.hashContainer.length > 0 && report.error?.code !== "IO") {
    try {
      report.container = await containerFacts(job.path, job.hashContainer);
    } catch (e) {
      report.error ??= describeError(e, job.path);
    }
  }
  return { report, guestTimes };
}
