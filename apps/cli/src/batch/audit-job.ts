import { type ByteSource, isHttpSource } from "@x/qcow2-core";
import { evidenceResolvers } from "@x/qcow2-core/node";
import { auditImage, type GuestTime, type Qcow2Anomaly, toFindings } from "@x/qcow2-forensic";
import { auditSourceWithPictures, evidenceGuestOpener } from "@x/qcow2-forensic/node";
import {
  buildImageReport,
  type ContainerFacts,
  filterBySeverity,
  type HtmlImageExtras,
  type ImageReport,
  type Severity,
} from "@x/report";
import { containerFacts, remoteFacts } from "../container.js";
import { describeError } from "../errors.js";
import { openEvidence, openWithPassphrases } from "../image-open.js";
import { displayPath, httpOptions } from "../remote.js";

/** Everything one image's audit needs; plain data, so it crosses to a worker thread. */
export interface AuditJob {
  /** A local path or an http(s) URL. */
  path: string;
  quick: boolean;
  backingDir?: string;
  /** Audit clock as epoch milliseconds. */
  now?: number;
  minSeverity?: Severity;
  /** Container digests to record ("sha256", "md5", "sha1"); empty for none. */
  hashContainer: string[];
  passphrases: Uint8Array[];
  /** `--header` lines for images given as URLs. */
  headers: string[];
  /** Findings of one code kept per image before the rest fold (0 = all). */
  maxFindingsPerCode: number;
  /** Also draw the image's pictures (for an HTML report). */
  pictures: boolean;
  /** Collect the guest filesystems' dated facts (for --format timeline/bodyfile). */
  timeline?: boolean;
}

/** One image's report, with its pictures when the job asked for them (plain data for the worker boundary). */
export interface AuditOutcome {
  report: ImageReport;
  extras?: HtmlImageExtras;
  /** The guest filesystems' times, when the job asked for them. */
  guestTimes?: GuestTime[];
}

/** What the caller may watch while a job runs in its thread. */
export interface AuditJobHooks {
  /** The container is about to be read whole (`remote`: streamed over HTTP); returns a byte counter. */
  onContainer?(size: number, remote: boolean): { update(done: number): void; finish(): void };
}

/** Audits one image; a failure becomes the report's error, never an exception. */
export async function runAuditJob(job: AuditJob, hooks: AuditJobHooks = {}): Promise<AuditOutcome> {
  const shown = displayPath(job.path);
  const http = httpOptions({ header: job.headers });
  const open = {
    ...(job.backingDir === undefined ? {} : { backingDir: job.backingDir }),
    http,
  };
  let report: ImageReport;
  let extras: HtmlImageExtras | undefined;
  const guestTimes: GuestTime[] = [];
  let source: (ByteSource & { close(): Promise<void> }) | null = null;
  try {
    try {
      source = await openEvidence(job.path, { header: job.headers });
      const options = {
        ...(job.quick ? { quick: true } : {}),
        ...(job.now === undefined ? {} : { now: new Date(job.now) }),
        ...(job.timeline ? { onGuestTimes: (t: GuestTime[]) => guestTimes.push(...t) } : {}),
      };
      let anomalies: Qcow2Anomaly[];
      if (job.pictures) {
        const pictured = await auditSourceWithPictures(source, job.path, {
          ...options,
          ...open,
          passphrases: job.passphrases,
          // Guest maps open the image as `export` would: read-only, with the audit's passphrases.
          openState: ({ snapshot, layerOnly }) =>
            openWithPassphrases(
              job.path,
              {
                ...open,
                ...(layerOnly ? { layerOnly: true } : {}),
                ...(snapshot === null ? {} : { snapshot: snapshot.id }),
              },
              job.passphrases,
            ),
        });
        anomalies = pictured.anomalies;
        extras = { figures: pictured.figures, facts: pictured.facts };
      } else {
        anomalies = await auditImage(source, {
          ...options,
          resolveBacking: evidenceResolvers(job.path, open).resolveBacking,
          // The guest of every state, unlocked with the audit's passphrases.
          guest: evidenceGuestOpener(source, job.path, { ...open, passphrases: job.passphrases }),
        });
      }
      // A passphrase given for the audit must unlock every encrypted image it meets.
      if (job.passphrases.length > 0 && anomalies.some((a) => a.code === "QCOW2-ENCRYPTED"))
        await (await openWithPassphrases(job.path, open, job.passphrases)).close();
      const findings = toFindings(anomalies, undefined, {
        maxFindingsPerCode: job.maxFindingsPerCode,
      });
      report = buildImageReport(shown, filterBySeverity(findings, job.minSeverity));
    } catch (e) {
      report = buildImageReport(shown, [], describeError(e, shown));
    }
    if (source !== null) {
      const custody: ContainerFacts | null =
        job.hashContainer.length > 0 && report.error?.code !== "IO"
          ? await hashed(job, source, hooks).catch((e: unknown) => {
              report.error ??= describeError(e, shown);
              return null;
            })
          : null;
      // A remote object's custody (URL, size, pinned ETag/Last-Modified) is recorded always.
      if (custody !== null) report.container = custody;
      else if (isHttpSource(source))
        report.container = { size: source.size, hashes: {}, ...remoteFacts(source) };
    }
  } finally {
    await source?.close();
  }
  return {
    report,
    ...(extras === undefined ? {} : { extras }),
    ...(job.timeline ? { guestTimes } : {}),
  };
}

async function hashed(
  job: AuditJob,
  source: ByteSource,
  hooks: AuditJobHooks,
): Promise<ContainerFacts> {
  const progress = hooks.onContainer?.(source.size, isHttpSource(source));
  const facts = await containerFacts(source, job.hashContainer, (done) => progress?.update(done));
  progress?.finish();
  return facts;
}
