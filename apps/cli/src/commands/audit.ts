import { readFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { codeCatalog } from "@x/qcow2-forensic";
import {
  compareSeverity,
  DEFAULT_MAX_FINDINGS_PER_CODE,
  type HtmlImageExtras,
  htmlChunks,
  type ImageReport,
  parseSeverity,
  type ReportEnvelope,
  renderCsv,
  renderJson,
  renderSarif,
  renderText,
  SEVERITIES,
  type Severity,
  shouldUseColor,
} from "@x/report";
import { type Command, Option } from "commander";
import type { AuditJob } from "../batch/audit-job.js";
import { collectImages } from "../batch/collect.js";
import { auditAll } from "../batch/pool.js";
import { type Io, TOOL } from "../context.js";
import { CliError, EXIT } from "../exit.js";
import { parseAlgorithms } from "../hashing.js";
import { type PassphraseOptions, readPassphrases, withPassphraseOptions } from "../passphrase.js";
import { startProgress } from "../progress.js";
import { parseHeaders, type RemoteOptions, redactArgv, withRemoteOptions } from "../remote.js";
import {
  type DatedFact,
  guestDatedFacts,
  jsonLinesFor,
  renderTimeline,
} from "../views/timeline.js";

const FORMATS = ["text", "json", "jsonl", "csv", "sarif", "html", "timeline", "bodyfile"] as const;
type Format = (typeof FORMATS)[number];

interface AuditOptions extends PassphraseOptions, RemoteOptions {
  fromFile?: string;
  format: Format;
  failOn?: string;
  minSeverity?: string;
  quick?: boolean;
  backingDir?: string;
  now?: string;
  recursive?: boolean;
  jobs?: string;
  hashContainer?: boolean;
  hashAlgorithm: string;
  quiet?: boolean;
  maxFindingsPerCode: string;
}

function severityOption(value: string | undefined, flag: string): Severity | undefined {
  if (value === undefined) return undefined;
  const s = parseSeverity(value);
  if (s === undefined)
    throw new CliError(`${flag}: '${value}' is not one of ${SEVERITIES.join(", ")}`, EXIT.usage);
  return s;
}

function clockOption(value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const d = new Date(value);
  if (Number.isNaN(d.getTime()))
    throw new CliError(
      `--now: '${value}' is not a date (use ISO 8601, e.g. 2026-01-31T12:00:00Z)`,
      EXIT.usage,
    );
  return d;
}

function capOption(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new CliError(
      `--max-findings-per-code: '${value}' is not a count (0 = unlimited)`,
      EXIT.usage,
    );
  return n;
}

function jobsOption(value: string | undefined): number {
  if (value === undefined) return availableParallelism();
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 256)
    throw new CliError(`--jobs: '${value}' is not a number of threads (1–256)`, EXIT.usage);
  return n;
}

/**
 * The images listed in `file` (`-`: standard input), one path or URL per
 * line; blank lines and lines starting with `#` are skipped.
 */
async function readList(file: string, io: Io): Promise<string[]> {
  let text: string;
  try {
    text =
      file === "-" ? await readStream(io.stdin ?? process.stdin) : await readFile(file, "utf8");
  } catch (e) {
    throw new CliError(
      `--from-file: cannot read ${file === "-" ? "standard input" : file} (${(e as Error).message})`,
      EXIT.usage,
    );
  }
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
}

async function readStream(stream: NodeJS.ReadableStream): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(parts).toString("utf8");
}

/** Audits every image (in parallel), then renders; one unreadable image does not stop the rest. */
export async function runAudit(
  args: string[],
  options: AuditOptions,
  io: Io,
  argv: readonly string[],
): Promise<number> {
  const startedAt = new Date().toISOString();
  const failOn = severityOption(options.failOn, "--fail-on");
  const minSeverity = severityOption(options.minSeverity, "--min-severity");
  const now = clockOption(options.now);
  const threads = jobsOption(options.jobs);
  const maxFindingsPerCode = capOption(options.maxFindingsPerCode);
  const hashContainer = options.hashContainer
    ? parseAlgorithms(options.hashAlgorithm, "--hash-algorithm")
    : [];
  const passphrases = await readPassphrases(options);
  // Checked once here: a malformed header is a usage error, not one failure per image.
  parseHeaders(options.header);
  const listed = options.fromFile === undefined ? [] : await readList(options.fromFile, io);
  if (args.length === 0 && options.fromFile === undefined)
    throw new CliError("give images, folders or URLs to audit, or --from-file", EXIT.usage);
  const paths = await collectImages([...args, ...listed], Boolean(options.recursive));
  if (paths.length === 0)
    throw new CliError(
      options.fromFile === undefined
        ? "no QCOW images found in the given folders"
        : "no images to audit (the list is empty)",
      EXIT.usage,
    );

  const jobs: AuditJob[] = paths.map((path) => ({
    path,
    quick: Boolean(options.quick),
    ...(options.backingDir === undefined ? {} : { backingDir: options.backingDir }),
    ...(now === undefined ? {} : { now: now.getTime() }),
    ...(minSeverity === undefined ? {} : { minSeverity }),
    hashContainer,
    passphrases,
    headers: options.header ?? [],
    maxFindingsPerCode,
    pictures: options.format === "html",
    ...(options.format === "timeline" || options.format === "bodyfile" ? { timeline: true } : {}),
  }));
  const reports: ImageReport[] = new Array(jobs.length);
  const extras: Array<HtmlImageExtras | undefined> = new Array(jobs.length);
  const guestFacts: DatedFact[] = [];
  const progress =
    paths.length > 1 ? startProgress(io, "audit", paths.length, options.quiet, "images") : null;
  let done = 0;
  // One image: the container's whole read (often the longest part, and over HTTP a full
  // download) gets its own bar.
  const hooks = {
    onContainer: (size: number, remote: boolean) =>
      startProgress(
        io,
        remote ? "hash-container (streaming the whole object over HTTP once)" : "hash-container",
        size,
        options.quiet,
      ),
  };
  await auditAll(jobs, threads, hooks, (index, { report, extras: pictures, guestTimes }) => {
    reports[index] = report;
    extras[index] = pictures;
    guestFacts.push(...guestDatedFacts(report.path, guestTimes ?? []));
    if (report.error !== null) io.stderr.write(`qcow2-forensic: ${report.error.message}\n`);
    // JSON Lines stream: each image's lines go out as soon as it is done.
    if (options.format === "jsonl") io.stdout.write(jsonLinesFor(report));
    progress?.update(++done);
  });
  progress?.finish();
  const envelope: ReportEnvelope = {
    tool: { name: TOOL.name, version: TOOL.version },
    // Header values and URL query strings (pre-signed URLs' signatures) never reach a report.
    run: { startedAt, finishedAt: new Date().toISOString(), commandLine: redactArgv(argv) },
    images: reports,
  };
  const exitCode = auditExitCode(reports, failOn);
  if (options.format === "html") {
    // Written piece by piece: a batch's page can be far larger than one string should be.
    for (const chunk of htmlChunks(envelope, { extras })) await write(io, chunk);
  } else if (options.format !== "jsonl")
    io.stdout.write(render(envelope, options.format, io, exitCode, guestFacts));
  return exitCode;
}

function auditExitCode(reports: readonly ImageReport[], failOn: Severity | undefined): number {
  if (reports.some((i) => i.error !== null)) return EXIT.unreadable;
  if (
    failOn !== undefined &&
    reports.some((i) => i.maxSeverity !== null && compareSeverity(i.maxSeverity, failOn) >= 0)
  ) {
    return EXIT.findings;
  }
  return EXIT.ok;
}

/** Writes `text` honouring back-pressure. */
async function write(io: Io, text: string): Promise<void> {
  if (!io.stdout.write(text))
    await new Promise<void>((done) => io.stdout.once("drain", () => done()));
}

function render(
  envelope: ReportEnvelope,
  format: Format,
  io: Io,
  exitCode: number,
  guestFacts: readonly DatedFact[],
): string {
  switch (format) {
    case "json":
      return renderJson(envelope);
    case "csv":
      return renderCsv(envelope);
    case "sarif":
      return renderSarif(envelope, {
        informationUri: TOOL.informationUri,
        baseDirectory: process.cwd(),
        exitCode,
        ruleDescriptions: Object.fromEntries(codeCatalog().map((c) => [c.code, c.meaning])),
      });
    case "timeline":
      return renderTimeline(envelope, "csv", guestFacts);
    case "bodyfile":
      return renderTimeline(envelope, "bodyfile", guestFacts);
    default:
      return renderText(envelope, { color: shouldUseColor(io.stdout, io.env) });
  }
}

export function registerAudit(
  program: Command,
  io: Io,
  setExit: (code: number) => void,
  argv: readonly string[],
): void {
  withRemoteOptions(withPassphraseOptions(program.command("audit")))
    .description(
      "grade each image's forensic anomalies (backing files, snapshots, encryption, refcount residue, hidden data, …)",
    )
    .argument(
      "[image-or-folder...]",
      "QCOW/QCOW2 files, folders of them (picked by magic), or http(s):// URLs; opened read-only",
    )
    .option(
      "--from-file <file>",
      "also audit the paths and URLs listed in this file, one per line (- reads standard input)",
    )
    .addOption(
      new Option("-f, --format <format>", "output format").choices(FORMATS).default("text"),
    )
    .option(
      "--fail-on <severity>",
      `exit 1 when a finding is at or above this severity (${SEVERITIES.join("|")})`,
    )
    .option("--min-severity <severity>", "only report findings at or above this severity")
    .option("-r, --recursive", "walk folders all the way down")
    .option(
      "-j, --jobs <n>",
      "images audited in parallel (worker threads; default: the number of cores)",
    )
    .option(
      "--hash-container",
      "record each evidence file's size and digests in the report (chain of custody)",
    )
    .option("--hash-algorithm <list>", "digests for --hash-container: sha256, sha1, md5", "sha256")
    .option("--quick", "header-level findings only (no consistency check): triage of many images")
    .option(
      "--backing-dir <dir>",
      "look for backing files only in this local folder (by recorded path, then base name)",
    )
    .option(
      "--now <date>",
      "audit clock for snapshot-date checks (ISO 8601; default: the current time)",
    )
    .option(
      "--max-findings-per-code <n>",
      "at most n findings of one code per image; the rest fold into one summary finding (0 = unlimited)",
      String(DEFAULT_MAX_FINDINGS_PER_CODE),
    )
    .option("-q, --quiet", "no progress bar")
    .addHelpText(
      "after",
      `
Formats, and the client each is for:
  text      people: aligned, coloured on a terminal (NO_COLOR/FORCE_COLOR honoured)
  json      scripts: one document, "$schema" names its published JSON Schema 2020-12
            (@x/report/schema/report.schema.json)
  jsonl     log pipelines and jq: one finding per line, streamed; each line follows
            @x/report/schema/report-line.schema.json
  csv       spreadsheets: RFC 4180, one row per finding
  sarif     code-scanning dashboards and SARIF viewers: SARIF 2.1.0 that Microsoft's
            sarif-multitool validate accepts with no error or warning
  timeline  Timesketch: CSV with message, datetime (ISO 8601), timestamp_desc, timestamp (µs),
            then path, subject, event, size; events are the snapshot dates and the creation,
            last-mount and last-write times of the guest's filesystems in every state
  bodyfile  Sleuth Kit's mactime (mactime -b FILE): one body line, and one mactime row, per event
  html      case files and people: one self-contained page (summary table, findings, custody, and
            pictures of each image: host-file map, guest maps of the active state and snapshots,
            backing chain, snapshot timeline); it loads nothing and runs no script

Unless --quick, the audit also looks inside the guest disk of every state it can open (active disk,
the newest 16 snapshots, the backing file): encrypted volumes, hibernation images, partition tables
and boot code that changed between states, damaged GPTs, data outside the partitions, filesystem
errors and impossible filesystem times.

Exit codes: 0 done, 1 a finding at or above --fail-on, 2 usage error, 3 an image could not be read.

Examples:
  $ qcow2-forensic audit evidence/disk.qcow2
  $ qcow2-forensic audit --format json --fail-on high vm1.qcow2 vm2.qcow2
  $ qcow2-forensic audit --recursive --format jsonl --hash-container --hash-algorithm sha256,md5 /cases/1234/
  $ qcow2-forensic audit --format sarif /evidence/disk.qcow2 > disk.sarif
  $ qcow2-forensic audit --format bodyfile /evidence/*.qcow2 > body.txt && mactime -b body.txt -d -y
  $ qcow2-forensic audit --format html --hash-container /cases/1234/*.qcow2 > case-1234.html
  $ qcow2-forensic audit --header 'Authorization: Bearer …' https://evidence.example/case-7/disk.qcow2
  $ list-presigned-urls case-7/ | qcow2-forensic audit --format jsonl --from-file -

Images given as http(s):// URLs are read with Range requests, moving only the metadata the audit needs;
the report records the URL (query string redacted), size, ETag and Last-Modified, and --hash-container
streams the whole object once. Relative backing and data file names resolve against the URL.`,
    )
    .action(async (paths: string[], options: AuditOptions) => {
      setExit(await runAudit(paths, options, io, argv));
    });
}
