import type { Evidence } from "../finding.js";
import type { ReportEnvelope } from "../report.js";

const HEADER = ["path", "severity", "code", "category", "note", "evidence"] as const;
const CRLF = "\r\n";

function field(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

function record(values: readonly string[]): string {
  return values.map(field).join(",") + CRLF;
}

function joinEvidence(evidence: readonly Evidence[]): string {
  return evidence.map((e) => `${e.field}=${e.value}`).join("; ");
}

/**
 * RFC 4180 CSV (CRLF line ends, every record terminated) with header
 * `path,severity,code,category,note,evidence`: one row per finding, evidence
 * flattened to `field=value` pairs joined by `"; "` (locations are left out —
 * use JSON for the full picture). Unrated findings have an empty severity. A
 * failed image yields one row with `category` = `error`, the error code in
 * `code` and its message in `note`; clean images yield no row.
 *
 * Values are written verbatim: cells beginning with `=`, `+`, `-` or `@` are
 * not defused, so open untrusted reports in a spreadsheet with care.
 *
 * @example
 * ```ts
 * writeFileSync("report.csv", renderCsv(envelope));
 * ```
 */
export function renderCsv(envelope: ReportEnvelope): string {
  let out = record(HEADER);
  for (const img of envelope.images) {
    for (const f of img.findings) {
      out += record([
        img.path,
        f.severity ?? "",
        f.code,
        f.category,
        f.note,
        joinEvidence(f.evidence),
      ]);
    }
    if (img.error) out += record([img.path, "", img.error.code, "error", img.error.message, ""]);
  }
  return out;
}
