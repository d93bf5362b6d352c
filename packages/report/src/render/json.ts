import type { ReportEnvelope } from "../report.js";
import { REPORT_SCHEMA_URL } from "../schema.js";
import { canonicalEnvelope } from "./canonical.js";

/**
 * Pretty JSON (2-space indent, trailing newline) with keys in a fixed order:
 * the format described by `@x/report/schema/report.schema.json`, whose
 * published address ({@link REPORT_SCHEMA_URL}) the document names in its
 * first key, `$schema`. Findings are written in the order given; use
 * {@link buildImageReport} to sort them.
 *
 * @example
 * ```ts
 * process.stdout.write(renderJson({ tool: { name: "qcow2-forensic", version: "0.1.0" }, images }));
 * ```
 */
export function renderJson(envelope: ReportEnvelope): string {
  const document = { $schema: REPORT_SCHEMA_URL, ...canonicalEnvelope(envelope) };
  return `${JSON.stringify(document, null, 2)}\n`;
}
