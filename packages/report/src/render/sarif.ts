import type { Finding } from "../finding.js";
import type { HostLocation } from "../location.js";
import type { ContainerFacts, ImageReport, ReportEnvelope } from "../report.js";
import { compareSeverity, type Severity } from "../severity.js";
import { canonicalEvidence, canonicalFinding, canonicalSource } from "./canonical.js";
import { FINGERPRINT_KEY, fingerprints } from "./fingerprint.js";
import { artifactUri, directoryUri, SRCROOT, type UriLocation } from "./sarif-uri.js";

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

/**
 * What the caller knows beyond the envelope, for {@link renderSarif}.
 *
 * @example
 * ```ts
 * const options: SarifOptions = {
 *   informationUri: "https://example.org/my-tool#readme",
 *   baseDirectory: process.cwd(),
 *   exitCode: 0,
 *   ruleDescriptions: { "DATA_BEYOND_EOF": "allocated data past the end of the refcounted area" },
 * };
 * ```
 */
export interface SarifOptions {
  /** `tool.driver.informationUri`: where a reader learns about the tool (its README or repository). */
  informationUri?: string;
  /**
   * The absolute directory that relative image paths are relative to (usually
   * the working directory): declared as `%SRCROOT%` in `originalUriBaseIds`.
   */
  baseDirectory?: string;
  /** The exit code the tool returns for this run: `invocations[0].exitCode`. */
  exitCode?: number;
  /** A one-line description per rule id (finding code): each rule's `shortDescription`. */
  ruleDescriptions?: Readonly<Record<string, string>>;
}

// SARIF's hash names (§3.24.11 refers to the IANA registry) for our digest keys.
const SARIF_HASH_NAMES: Readonly<Record<string, string>> = {
  sha256: "sha-256",
  sha1: "sha-1",
  md5: "md5",
};

function sarifHashes(container: ContainerFacts): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [algorithm, digest] of Object.entries(container.hashes).sort(([a], [b]) =>
    a < b ? -1 : a > b ? 1 : 0,
  )) {
    out[SARIF_HASH_NAMES[algorithm] ?? algorithm] = digest;
  }
  return out;
}

interface SarifArtifact {
  location: UriLocation;
  roles: string[];
  length?: number;
  hashes?: Record<string, string>;
}

// Role and custody facts also keep the artifact from being "location only" (SARIF2004).
function artifact(img: ImageReport): SarifArtifact {
  const out: SarifArtifact = { location: artifactUri(img.path), roles: ["analysisTarget"] };
  if (img.container !== undefined) {
    if (Number.isSafeInteger(img.container.size)) out.length = img.container.size;
    out.hashes = sarifHashes(img.container);
  }
  return out;
}

// SARIF regions need exact integers; an offset beyond 2^53 (still in the
// evidence, exactly) is cited without a region rather than rounded.
function region(loc: HostLocation): Record<string, number> | undefined {
  if (!Number.isSafeInteger(loc.offset)) return undefined;
  return loc.length !== undefined && Number.isSafeInteger(loc.length)
    ? { byteOffset: loc.offset, byteLength: loc.length }
    : { byteOffset: loc.offset };
}

// A finding with no byte range of its own is about the image as a whole: it
// cites the whole file when its size is known, else the file's start. SARIF
// viewers (and the official validator, SARIF2017) expect every location to
// carry a region.
function wholeFile(img: ImageReport): Record<string, number> {
  const size = img.container?.size;
  return size !== undefined && Number.isSafeInteger(size)
    ? { byteOffset: 0, byteLength: size }
    : { byteOffset: 0 };
}

function physicalLocations(
  f: Finding,
  img: ImageReport,
  artifactLocation: UriLocation & { index: number },
) {
  const regions = hostLocations(f).flatMap((loc) => {
    const r = region(loc);
    return r === undefined ? [] : [r];
  });
  if (regions.length === 0) regions.push(wholeFile(img));
  return regions.map((r) => ({ physicalLocation: { artifactLocation, region: r } }));
}

// SARIF's rule `name` is a Pascal-case "friendly name" (§3.49.7): QCOW2-SNAPSHOT → Qcow2Snapshot.
function friendlyName(id: string): string {
  return id
    .split(/[^A-Za-z0-9]+/)
    .filter((word) => word !== "")
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1).toLowerCase())
    .join("");
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

function ruleTable(rules: Map<string, RuleInfo>, descriptions: Readonly<Record<string, string>>) {
  return [...rules].map(([id, rule]) => {
    const name = friendlyName(id);
    const description = descriptions[id];
    return {
      id,
      ...(name === "" ? {} : { name }),
      ...(description === undefined ? {} : { shortDescription: { text: description } }),
      defaultConfiguration: { level: sarifLevel(rule.severity) },
      properties: { tags: [...rule.categories].sort() },
    };
  });
}

function invocation(
  envelope: ReportEnvelope,
  exitCode: number | undefined,
  workingDirectory: string | undefined,
  notifications: readonly object[],
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (envelope.run !== undefined) {
    out.arguments = [...envelope.run.commandLine];
    out.startTimeUtc = envelope.run.startedAt;
    out.endTimeUtc = envelope.run.finishedAt;
  }
  if (workingDirectory !== undefined) out.workingDirectory = { uri: workingDirectory };
  if (exitCode !== undefined) out.exitCode = exitCode;
  out.executionSuccessful = notifications.length === 0;
  if (notifications.length > 0) out.toolExecutionNotifications = notifications;
  return out;
}

/**
 * A SARIF 2.1.0 log with a single run, for code-scanning dashboards and any
 * SARIF viewer; the official validator (`sarif-multitool validate`) finds no
 * error or warning in it. Each distinct finding code becomes a rule (default
 * level from its most severe occurrence, `shortDescription` from
 * `options.ruleDescriptions`); each finding a result in its image, cited by
 * byte regions for host-file evidence (the whole file, or its start when its
 * size is not recorded, for findings about the image as a whole), with a
 * `partialFingerprints` entry
 * that stays the same for the same finding in every run. Absolute image paths
 * become `file://` URIs; relative ones stay relative to `%SRCROOT%`, declared
 * in `originalUriBaseIds` as `options.baseDirectory`. The envelope's run facts
 * and `options.exitCode` fill `invocations`; image errors appear there as
 * tool execution notifications with `executionSuccessful: false`. Severity,
 * category, source, the full evidence and, on a summary of findings folded
 * beyond the per-code cap, `folded` go in `properties`.
 *
 * @example
 * ```ts
 * writeFileSync("report.sarif", renderSarif(envelope, { baseDirectory: process.cwd(), exitCode: 0 }));
 * ```
 */
export function renderSarif(envelope: ReportEnvelope, options: SarifOptions = {}): string {
  const rules = collectRules(envelope);
  const ruleIndex = new Map([...rules.keys()].map((code, i) => [code, i]));
  const artifacts = envelope.images.map(artifact);
  const locate = (img: ImageReport, index: number) => ({ ...artifactUri(img.path), index });

  const results = envelope.images.flatMap((img, index) => {
    const artifactLocation = locate(img, index);
    const prints = fingerprints(img.findings);
    return img.findings.map((f, i) => {
      const properties: Record<string, unknown> = {};
      if (f.severity !== undefined) properties.severity = f.severity;
      properties.category = f.category;
      properties.source = canonicalSource(f.source);
      properties.evidence = f.evidence.map(canonicalEvidence);
      const { folded } = canonicalFinding(f);
      if (folded !== undefined) properties.folded = folded;
      return {
        ruleId: f.code,
        ruleIndex: ruleIndex.get(f.code),
        level: sarifLevel(f.severity),
        message: { text: f.note },
        locations: physicalLocations(f, img, artifactLocation),
        partialFingerprints: { [FINGERPRINT_KEY]: prints[i] },
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
            locations: [{ physicalLocation: { artifactLocation: locate(img, index) } }],
          },
        ]
      : [],
  );
  const base =
    options.baseDirectory === undefined ? undefined : directoryUri(options.baseDirectory);
  const driver: Record<string, unknown> = {
    name: envelope.tool.name,
    version: envelope.tool.version,
  };
  if (options.informationUri !== undefined) driver.informationUri = options.informationUri;
  driver.rules = ruleTable(rules, options.ruleDescriptions ?? {});

  const run: Record<string, unknown> = { tool: { driver } };
  if (artifacts.some((a) => a.location.uriBaseId === SRCROOT)) {
    run.originalUriBaseIds = {
      [SRCROOT]:
        base === undefined
          ? { description: { text: "The directory the tool was run from." } }
          : { uri: base },
    };
  }
  run.artifacts = artifacts;
  run.invocations = [invocation(envelope, options.exitCode, base, notifications)];
  run.results = results;

  const log = { $schema: SARIF_SCHEMA, version: "2.1.0", runs: [run] };
  return `${JSON.stringify(log, null, 2)}\n`;
}
