import { toFindings } from "@x/qcow2-forensic";
import { auditPath } from "@x/qcow2-forensic/node";
import {
  buildImageReport,
  compareSeverity,
  filterBySeverity,
  type ImageReport,
  parseSeverity,
  type ReportEnvelope,
  renderCsv,
  renderJson,
  renderJsonLines,
  renderSarif,
  renderText,
  SEVERITIES,
  type Severity,
  shouldUseColor,
} from "@x/report";
import { type Command, Option } from "commander";
import { type Io, TOOL } from "../context.js";
import { CliError, describeError, EXIT } from "../errors.js";
import { openWithPassphrases } from "../image-open.js";
import { type PassphraseOptions, readPassphrases, withPassphraseOptions } from "../passphrase.js";

const FORMATS = ["text", "json", "jsonl", "csv", "sarif"] as const;
type Format = (typeof FORMATS)[number];

interface AuditOptions extends PassphraseOptions {
  format: Format;
  failOn?: string;
  minSeverity?: string;
  quick?: boolean;
  backingDir?: string;
  now?: string;
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

function severityOption(value: string | undefined, flag: string): Severity | undefined {
  if (value === undefined) return undefined;
  const s = parseSeverity(value);
  if (s === undefined)
    throw new CliError(`${flag}: '${value}' is not one of ${SEVERITIES.join(", ")}`, EXIT.usage);
  return s;
}

/** Audits each image in turn; one unreadable image does not stop the rest. */
export async function runAudit(paths: string[], options: AuditOptions, io: Io): Promise<number> {
  const failOn = severityOption(options.failOn, "--fail-on");
  const minSeverity = severityOption(options.minSeverity, "--min-severity");
  const now = clockOption(options.now);
  const passphrases = await readPassphrases(options);
  const images: ImageReport[] = [];
  for (const path of paths) {
    try {
      const anomalies = await auditPath(path, {
        ...(options.quick ? { quick: true } : {}),
        ...(options.backingDir === undefined ? {} : { backingDir: options.backingDir }),
        ...(now === undefined ? {} : { now }),
      });
      // A passphrase given for the audit must unlock every encrypted image it meets.
      if (passphrases.length > 0 && anomalies.some((a) => a.code === "QCOW2-ENCRYPTED")) {
        const base = options.backingDir === undefined ? {} : { backingDir: options.backingDir };
        await (await openWithPassphrases(path, base, passphrases)).close();
      }
      const findings = filterBySeverity(toFindings(anomalies), minSeverity);
      images.push(buildImageReport(path, findings));
    } catch (e) {
      images.push(buildImageReport(path, [], describeError(e, path)));
      io.stderr.write(`qcow2-forensic: ${describeError(e, path).message}\n`);
    }
  }
  const envelope: ReportEnvelope = { tool: { name: TOOL.name, version: TOOL.version }, images };
  io.stdout.write(render(envelope, options.format, io));
  if (images.some((i) => i.error !== null)) return EXIT.unreadable;
  if (
    failOn !== undefined &&
    images.some((i) => i.maxSeverity !== null && compareSeverity(i.maxSeverity, failOn) >= 0)
  ) {
    return EXIT.findings;
  }
  return EXIT.ok;
}

function render(envelope: ReportEnvelope, format: Format, io: Io): string {
  switch (format) {
    case "json":
      return renderJson(envelope);
    case "jsonl":
      return renderJsonLines(envelope);
    case "csv":
      return renderCsv(envelope);
    case "sarif":
      return renderSarif(envelope);
    default:
      return renderText(envelope, { color: shouldUseColor(io.stdout, io.env) });
  }
}

export function registerAudit(program: Command, io: Io, setExit: (code: number) => void): void {
  withPassphraseOptions(program.command("audit"))
    .description(
      "grade each image's forensic anomalies (backing files, snapshots, encryption, dirty/corrupt flags, orphaned clusters)",
    )
    .argument("<image...>", "QCOW/QCOW2 image files (opened read-only)")
    .addOption(
      new Option("-f, --format <format>", "output format").choices(FORMATS).default("text"),
    )
    .option(
      "--fail-on <severity>",
      `exit 1 when a finding is at or above this severity (${SEVERITIES.join("|")})`,
    )
    .option("--min-severity <severity>", "only report findings at or above this severity")
    .option("--quick", "header-level findings only (no consistency check): triage of many images")
    .option(
      "--backing-dir <dir>",
      "look for backing files only in this folder (by recorded path, then base name)",
    )
    .option(
      "--now <date>",
      "audit clock for snapshot-date checks (ISO 8601; default: the current time)",
    )
    .addHelpText(
      "after",
      `
Exit codes: 0 done, 1 a finding at or above --fail-on, 2 usage error, 3 an image could not be read.

Examples:
  $ qcow2-forensic audit evidence/disk.qcow2
  $ qcow2-forensic audit --format json --fail-on high vm1.qcow2 vm2.qcow2`,
    )
    .action(async (paths: string[], options: AuditOptions) => {
      setExit(await runAudit(paths, options, io));
    });
}
