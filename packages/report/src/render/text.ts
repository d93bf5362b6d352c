import type { Evidence, Finding } from "../finding.js";
import { formatLocation } from "../location.js";
import type { ImageReport, ReportEnvelope } from "../report.js";
import type { Severity } from "../severity.js";
import { escapeForTerminal as safe } from "./escape.js";

/**
 * Options for {@link renderText}.
 *
 * @example
 * ```ts
 * const opts: TextOptions = { color: shouldUseColor(process.stdout, process.env) };
 * ```
 */
export interface TextOptions {
  /** Emit ANSI colour escapes for severities. */
  color: boolean;
}

const RESET = "\x1b[0m";
const SEVERITY_STYLE: Readonly<Record<Severity, string>> = {
  critical: "\x1b[1;31m",
  high: "\x1b[31m",
  medium: "\x1b[33m",
  low: "\x1b[36m",
  info: "\x1b[2m",
};

const UNRATED = "unrated";
// Wide enough for the longest label ("critical") so the code column lines up.
const SEVERITY_WIDTH = 8;
const INDENT = "  ";
const EVIDENCE_INDENT = " ".repeat(INDENT.length + SEVERITY_WIDTH + 2 + 2);

// reduce rather than Math.max(...xs): spreading a huge array can overflow the stack.
function longest(texts: readonly string[]): number {
  return texts.reduce((max, t) => Math.max(max, t.length), 0);
}

function paint(text: string, severity: Severity | undefined, color: boolean): string {
  return color && severity !== undefined ? `${SEVERITY_STYLE[severity]}${text}${RESET}` : text;
}

function headerLine(img: ImageReport, color: boolean): string {
  let label: string;
  if (img.maxSeverity !== null) label = paint(img.maxSeverity, img.maxSeverity, color);
  else label = img.findings.length > 0 ? UNRATED : "none";
  return `${safe(img.path)}  [max severity: ${label}]`;
}

function evidenceLines(evidence: readonly Evidence[]): string[] {
  const fields = evidence.map((e) => safe(e.field));
  const width = longest(fields);
  return evidence.map((e, i) => {
    const at = e.location === undefined ? "" : `  @ ${safe(formatLocation(e.location))}`;
    return `${EVIDENCE_INDENT}${(fields[i] ?? "").padEnd(width)} = ${safe(e.value)}${at}`;
  });
}

function findingLines(f: Finding, codeWidth: number, color: boolean): string[] {
  // Pad before painting: escape sequences have no display width.
  const sev = paint((f.severity ?? UNRATED).padEnd(SEVERITY_WIDTH), f.severity, color);
  const line = `${INDENT}${sev}  ${safe(f.code).padEnd(codeWidth)}  ${safe(f.note)}`;
  return [line.trimEnd(), ...evidenceLines(f.evidence)];
}

function imageLines(img: ImageReport, color: boolean): string[] {
  const lines = [headerLine(img, color)];
  if (img.error) {
    lines.push(`${INDENT}error ${safe(img.error.code)}: ${safe(img.error.message)}`);
  }
  if (img.findings.length === 0) {
    if (!img.error) lines.push(`${INDENT}no findings`);
    return lines;
  }
  const codeWidth = longest(img.findings.map((f) => safe(f.code)));
  for (const f of img.findings) lines.push(...findingLines(f, codeWidth, color));
  return lines;
}

/**
 * Aligned, human-readable report. Per image: a header with the path and max
 * severity, then one line per finding (severity column, code padded to the
 * longest code, note) with its evidence beneath as `field = value  @ location`.
 * Clean images say "no findings"; failed images show their error. Control
 * characters in the data are escaped, never written raw.
 *
 * @example
 * ```ts
 * process.stdout.write(renderText(envelope, { color: shouldUseColor(process.stdout, process.env) }));
 * // disk.qcow2  [max severity: high]
 * //   high      SNAPSHOT_PRESENT  Image carries 2 internal snapshots
 * //               nb_snapshots = 2  @ QCOW2 header: nb_snapshots
 * ```
 */
export function renderText(envelope: ReportEnvelope, options: TextOptions): string {
  const blocks = envelope.images.map((img) => imageLines(img, options.color).join("\n"));
  return blocks.length === 0 ? "" : `${blocks.join("\n\n")}\n`;
}
