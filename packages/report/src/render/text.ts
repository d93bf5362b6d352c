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

function findingLines(
  f: Finding,
  codeWidth: number,
  color: boolean,
  withEvidence = true,
): string[] {
  // Pad before painting: escape sequences have no display width.
  const sev = paint((f.severity ?? UNRATED).padEnd(SEVERITY_WIDTH), f.severity, color);
  const line = `${INDENT}${sev}  ${safe(f.code).padEnd(codeWidth)}  ${safe(f.note)}`;
  return withEvidence ? [line.trimEnd(), ...evidenceLines(f.evidence)] : [line.trimEnd()];
}

/**
 * Findings of one code past this many are printed as their one-line note
 * (the evidence is in every machine format), so that a code repeated a
 * hundred times reads as a list, not pages.
 */
export const TEXT_FULL_FINDINGS_PER_CODE = 10;
/** A hard bound on the lines of one image's text report, whatever the findings. */
export const TEXT_MAX_LINES_PER_IMAGE = 900;

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
  const shown = new Map<string, number>();
  for (const [i, f] of img.findings.entries()) {
    const n = (shown.get(f.code) ?? 0) + 1;
    shown.set(f.code, n);
    const block = findingLines(
      f,
      codeWidth,
      color,
      n <= TEXT_FULL_FINDINGS_PER_CODE || f.folded !== undefined,
    );
    if (lines.length + block.length >= TEXT_MAX_LINES_PER_IMAGE) {
      lines.push(
        `${INDENT}… ${img.findings.length - i} more finding(s) not shown in this text view (--format json lists them all)`,
      );
      break;
    }
    lines.push(...block);
  }
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
