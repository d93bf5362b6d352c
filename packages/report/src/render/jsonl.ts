import type { ReportEnvelope } from "../report.js";
import { canonicalError, canonicalFinding } from "./canonical.js";

/**
 * JSON Lines: one compact object per finding (`{"path", ...finding}`), one
 * `{"path", "error"}` line per failed image, each terminated by `\n`. Clean
 * images produce no line at all; an envelope without findings or errors
 * renders as the empty string. Handy for `jq`/log pipelines. Each line is
 * described by `@x/report/schema/report-line.schema.json`, published at
 * {@link REPORT_LINE_SCHEMA_URL} (lines carry no `$schema` of their own).
 *
 * @example
 * ```ts
 * for (const line of renderJsonLines(envelope).split("\n").filter(Boolean)) JSON.parse(line);
 * ```
 */
export function renderJsonLines(envelope: ReportEnvelope): string {
  let out = "";
  for (const img of envelope.images) {
    for (const f of img.findings) {
      out += `${JSON.stringify({ path: img.path, ...canonicalFinding(f) })}\n`;
    }
    const error = canonicalError(img.error);
    if (error) out += `${JSON.stringify({ path: img.path, error })}\n`;
  }
  return out;
}
