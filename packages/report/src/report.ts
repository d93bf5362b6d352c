import type { Finding } from "./finding.js";
import { compareSeverity, maxSeverity, type Severity } from "./severity.js";

/**
 * Why an image could not be (fully) analysed, e.g. `{ code: "ENOENT", message: "no such file" }`.
 *
 * @example
 * ```ts
 * const err: ReportError = { code: "NOT_QCOW2", message: "bad magic 0x00000000" };
 * ```
 */
export interface ReportError {
  code: string;
  message: string;
}

/**
 * The result for one image in a {@link ReportEnvelope}. `maxSeverity` is
 * `null` when no finding is rated; `error` is `null` when analysis succeeded.
 * An image may carry both findings and an error (partial analysis).
 *
 * @example
 * ```ts
 * const img: ImageReport = { path: "disk.qcow2", findings: [], maxSeverity: null, error: null };
 * ```
 */
export interface ImageReport {
  path: string;
  findings: Finding[];
  maxSeverity: Severity | null;
  error: ReportError | null;
  /** Chain-of-custody facts about the evidence file itself, when recorded. */
  container?: ContainerFacts;
}

/**
 * The evidence file as it sat on disk during the analysis: size and digests.
 *
 * @example
 * ```ts
 * const c: ContainerFacts = { size: 196616, hashes: { sha256: "ab94…" } };
 * ```
 */
export interface ContainerFacts {
  size: number;
  /** Lower-case hex digests keyed by algorithm (sha256, sha1, md5); empty when none was computed. */
  hashes: Record<string, string>;
  /** Set when the evidence was read over HTTP(S) rather than from a local file. */
  remote?: RemoteFacts;
}

/**
 * A remote evidence object as it was pinned for the whole analysis: its URL
 * (query string and credentials redacted) and the validators every answer
 * had to match.
 *
 * @example
 * ```ts
 * const r: RemoteFacts = { url: "https://bucket.example/disk.qcow2?REDACTED", etag: "\"9a0e…\"", lastModified: null };
 * ```
 */
export interface RemoteFacts {
  url: string;
  etag: string | null;
  lastModified: string | null;
}

/**
 * What was run, when: for the examiner's notes.
 *
 * @example
 * ```ts
 * const run: RunInfo = { startedAt: "2026-11-25T18:00:00.000Z", finishedAt: "…", commandLine: ["audit", "disk.qcow2"] };
 * ```
 */
export interface RunInfo {
  startedAt: string;
  finishedAt: string;
  /** The arguments as given (passphrases never appear: they are only read from files or a prompt). */
  commandLine: string[];
}

/**
 * The top-level JSON document the CLI emits. Key names are a public contract.
 *
 * @example
 * ```ts
 * const env: ReportEnvelope = { tool: { name: "qcow2-forensic", version: "0.1.0" }, images: [] };
 * ```
 */
export interface ReportEnvelope {
  tool: { name: string; version: string };
  /** When and how the report was produced, when recorded. */
  run?: RunInfo;
  images: ImageReport[];
}

// Unrated findings rank below "info": they carry the least actionable signal.
function rank(s: Severity | undefined): number {
  return s === undefined ? -1 : compareSeverity(s, "info");
}

/**
 * Returns a new array sorted by severity descending (unrated after `info`),
 * then by code ascending (code-unit order, locale-independent so output is
 * reproducible across machines), then by original position.
 *
 * @example
 * ```ts
 * sortFindings(findings).map((f) => f.severity); // ["critical", "high", "info", undefined]
 * ```
 */
export function sortFindings(findings: readonly Finding[]): Finding[] {
  return findings
    .map((finding, index) => ({ finding, index }))
    .sort((a, b) => {
      const bySeverity = rank(b.finding.severity) - rank(a.finding.severity);
      if (bySeverity !== 0) return bySeverity;
      if (a.finding.code !== b.finding.code) return a.finding.code < b.finding.code ? -1 : 1;
      return a.index - b.index;
    })
    .map(({ finding }) => finding);
}

/**
 * Keeps findings at least as severe as `min`, preserving order. Unrated
 * findings are dropped whenever a minimum is given, since they cannot be shown
 * to meet it; with `min` undefined everything is kept.
 *
 * @example
 * ```ts
 * filterBySeverity(findings, "medium"); // medium, high and critical only
 * ```
 */
export function filterBySeverity(
  findings: readonly Finding[],
  min: Severity | undefined,
): Finding[] {
  if (min === undefined) return [...findings];
  return findings.filter((f) => f.severity !== undefined && compareSeverity(f.severity, min) >= 0);
}

/**
 * The highest severity among rated findings, or `undefined` when none is rated.
 *
 * @example
 * ```ts
 * maxSeverityOf([{ ...f, severity: "low" }, { ...f, severity: "high" }]); // "high"
 * ```
 */
export function maxSeverityOf(findings: readonly Finding[]): Severity | undefined {
  return maxSeverity(findings.flatMap((f) => (f.severity === undefined ? [] : [f.severity])));
}

/**
 * Assembles an {@link ImageReport}: sorts the findings and computes
 * `maxSeverity`. The input array is not modified.
 *
 * @example
 * ```ts
 * buildImageReport("disk.qcow2", findings);
 * buildImageReport("gone.qcow2", [], { code: "ENOENT", message: "no such file" });
 * ```
 */
export function buildImageReport(
  path: string,
  findings: readonly Finding[],
  error?: ReportError | null,
): ImageReport {
  return {
    path,
    findings: sortFindings(findings),
    maxSeverity: maxSeverityOf(findings) ?? null,
    error: error ? { code: error.code, message: error.message } : null,
  };
}

/**
 * The highest severity across every image's findings, or `null` when nothing
 * is rated (e.g. to pick a process exit code). Computed from the findings
 * rather than each `maxSeverity` so a hand-built envelope cannot disagree.
 *
 * @example
 * ```ts
 * envelopeMaxSeverity(envelope) === "critical" && process.exit(3);
 * ```
 */
export function envelopeMaxSeverity(envelope: ReportEnvelope): Severity | null {
  return maxSeverityOf(envelope.images.flatMap((img) => img.findings)) ?? null;
}
