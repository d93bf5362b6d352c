import type { Finding } from "../finding.js";
import type { HostLocation } from "../location.js";
import type { ReportEnvelope } from "../report.js";
import { compareSeverity, type Severity } from "../severity.js";
import { canonicalEvidence, canonicalSource } from "./canonical.js";

/**
 * The SARIF result levels this renderer emits.
 *
 * @example
 * ```ts
 * const level: SarifLevel = sarifLevel("medium"); // "warning"
 * ```
 */
export type SarifLevel = "error" | "warning" | "note";

const SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json";

/**
 * Maps a severity to a SARIF level: critical/high → `error`, medium →
 * `warning`, low/info → `note`. Unrated findings map to `note`: SARIF's
 * `none` would claim the result is not a problem at all.
 *
 * @example
 * ```ts
 * sarifLevel("critical"); // "error"
 * sarifLevel(undefined);  // "note"
 * ```
 */
export function sarifLevel(severity: Severity | undefined): SarifLevel {
  switch (severity) {
    case "critical":
    case "high":
      return "error";
    case "medium":
      return "warning";
    default:
      return "note";
  }
}

// Keeps RFC 3986 pchar characters and "/" so ordinary paths pass through
// unchanged; anything else (spaces, "%", "#", "?", non-ASCII) is percent-encoded
// so viewers do not misread it. ":" is encoded too, otherwise a relative path
// like "a:b.qcow2" would parse as a URI with scheme "a".
const URI_SAFE = /^[A-Za-z0-9\-._~!$&'()*+,;=@/]$/;

function toUriReference(path: string): string {
  let out = "";
  for (const ch of path) {
    if (URI_SAFE.test(ch)) {
      out += ch;
      continue;
    }
    try {
      out += encodeURIComponent(ch);
    } catch {
      // A lone surrogate cannot be UTF-8 encoded; mark it rather than fail the report.
      out += "%EF%BF%BD";
    }
  }
  return out;
}

function hostLocations(f: Finding): HostLocation[] {
  const seen = new Set<string>();
  const out: HostLocation[] = [];
  for (const e of f.evidence) {
    const loc = e.location;
    if (loc?.kind !== "host") continue;
    const key = `${loc.offset}+${loc.length ?? ""}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(loc);
  }
  return out;
}

interface RuleInfo {
  severity: Severity | undefined;
  categories: Set<string>;
}

function collectRules(envelope: ReportEnvelope): Map<string, RuleInfo> {
  const rules = new Map<string, RuleInfo>();
  for (const img of envelope.images) {
    for (const f of img.findings) {
      const rule = rules.get(f.code) ?? { severity: undefined, categories: new Set<string>() };
      if (
        f.severity !== undefined &&
        (rule.severity === undefined || compareSeverity(f.severity, rule.severity) > 0)
      ) {
        rule.severity = f.severity;
      }
      rule.categories.add(f.category);
      rules.set(f.code, rule);
    }
  }
  // Sorted so the rule table (and every ruleIndex) is independent of image order.
  return new Map([...rules].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * A SARIF 2.1.0 log with a single run. Each distinct finding code becomes a
 * rule (its default level from the most severe occurrence); each finding a
 * result whose artifact is the image path (percent-encoded only where needed
 * to be a valid URI reference) and, for host-file evidence, a byte region.
 * Severity, category, source and the full evidence go in `properties`. Image
 * errors appear as tool execution notifications with
 * `executionSuccessful: false`.
 *
 * @example
 * ```ts
 * writeFileSync("report.sarif", renderSarif(envelope));
 * ```
 */
export function renderSarif(envelope: ReportEnvelope): string {
  const rules = collectRules(envelope);
  const ruleIndex = new Map([...rules.keys()].map((code, i) => [code, i]));
  const artifacts = envelope.images.map((img) => ({ location: { uri: toUriReference(img.path) } }));

  const results = envelope.images.flatMap((img, index) => {
    const artifactLocation = { uri: toUriReference(img.path), index };
    return img.findings.map((f) => {
      const regions = hostLocations(f);
      const locations =
        regions.length === 0
          ? [{ physicalLocation: { artifactLocation } }]
          : regions.map((loc) => ({
              physicalLocation: {
                artifactLocation,
                region:
                  loc.length === undefined
                    ? { byteOffset: loc.offset }
                    : { byteOffset: loc.offset, byteLength: loc.length },
              },
            }));
      const properties: Record<string, unknown> = {};
      if (f.severity !== undefined) properties.severity = f.severity;
      properties.category = f.category;
      properties.source = canonicalSource(f.source);
      properties.evidence = f.evidence.map(canonicalEvidence);
      return {
        ruleId: f.code,
        ruleIndex: ruleIndex.get(f.code),
        level: sarifLevel(f.severity),
        message: { text: f.note },
        locations,
        properties,
      };
    });
  });

  const notifications = envelope.images.flatMap((img, index) =>
    img.error
      ? [
          {
            level: "error",
            message: { text: img.error.message },
            descriptor: { id: img.error.code },
            locations: [
              { physicalLocation: { artifactLocation: { uri: toUriReference(img.path), index } } },
            ],
          },
        ]
      : [],
  );

  const log = {
    $schema: SARIF_SCHEMA,
    version: "2.1.0",
    runs: [
      {
        tool: {
          driver: {
            name: envelope.tool.name,
            version: envelope.tool.version,
            rules: [...rules].map(([id, rule]) => ({
              id,
              defaultConfiguration: { level: sarifLevel(rule.severity) },
              properties: { tags: [...rule.categories].sort() },
            })),
          },
        },
        artifacts,
        invocations: [
          notifications.length === 0
            ? { executionSuccessful: true }
            : { executionSuccessful: false, toolExecutionNotifications: notifications },
        ],
        results,
      },
    ],
  };
  return `${JSON.stringify(log, null, 2)}\n`;
}
