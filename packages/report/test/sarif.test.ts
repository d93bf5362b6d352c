import { describe, expect, it } from "vitest";
import {
  buildImageReport,
  type Finding,
  foldFindings,
  hostLocation,
  type ImageReport,
  type ReportEnvelope,
  renderSarif,
  type SarifOptions,
  SEVERITIES,
  sarifLevel,
} from "../src/index.js";
import { finding, sampleEnvelope } from "./helpers.js";

// biome-ignore lint/suspicious/noExplicitAny: reading parsed SARIF
type Json = any;

function sarifOf(images: ImageReport[], options?: SarifOptions): Json {
  const env: ReportEnvelope = { tool: { name: "t", version: "1" }, images };
  return JSON.parse(renderSarif(env, options)).runs[0];
}

const uriOf = (path: string, options?: SarifOptions) =>
  sarifOf([buildImageReport(path, [finding("A", "low")])], options).artifacts[0].location;

describe("renderSarif", () => {
  const log = JSON.parse(renderSarif(sampleEnvelope()));
  const run = log.runs[0];

  it("declares SARIF version 2.1.0 and its schema with a single run", () => {
    expect(log.version).toBe("2.1.0");
    expect(log.$schema).toMatch(/sarif-2\.1\.0/);
    expect(log.runs).toHaveLength(1);
  });

  it("names the tool and lists one rule per distinct code with a default level", () => {
    expect(run.tool.driver.name).toBe("qcow2-forensic");
    expect(run.tool.driver.version).toBe("0.1.0");
    expect(run.tool.driver.rules).toEqual([
      expect.objectContaining({ id: "DATA_BEYOND_EOF", defaultConfiguration: { level: "error" } }),
      expect.objectContaining({ id: "SNAPSHOT", defaultConfiguration: { level: "note" } }),
      expect.objectContaining({ id: "V3", defaultConfiguration: { level: "note" } }),
    ]);
  });

  it("emits one result per finding with rule, level and message", () => {
    expect(run.results).toHaveLength(3);
    const [first] = run.results;
    expect(first.ruleId).toBe("DATA_BEYOND_EOF");
    expect(run.tool.driver.rules[first.ruleIndex].id).toBe("DATA_BEYOND_EOF");
    expect(first.level).toBe("error");
    expect(first.message.text).toBe("Allocated cluster lies past the refcounted area");
    expect(first.properties.evidence).toHaveLength(2);
  });

  it("locates results in the image file with byte regions for host locations", () => {
    expect(run.results[0].locations).toEqual([
      {
        physicalLocation: {
          artifactLocation: { uri: "disk.qcow2", uriBaseId: "%SRCROOT%", index: 0 },
          region: { byteOffset: 0x50000, byteLength: 65536 },
        },
      },
    ]);
    // No host location: the finding is about the file as a whole, cited from its start.
    expect(run.results[1].locations[0].physicalLocation.region).toEqual({ byteOffset: 0 });
  });

  it("reports image errors as failed execution notifications", () => {
    expect(run.invocations[0].executionSuccessful).toBe(false);
    expect(run.invocations[0].toolExecutionNotifications[0]).toMatchObject({
      level: "error",
      descriptor: { id: "NOT_QCOW2" },
      message: { text: "bad magic" },
    });
  });

  it("maps severities to SARIF levels", () => {
    expect(SEVERITIES.map((s) => sarifLevel(s))).toEqual([
      "note",
      "note",
      "warning",
      "error",
      "error",
    ]);
    expect(sarifLevel(undefined)).toBe("note");
  });
});

describe("SARIF artifact locations", () => {
  it("writes an absolute path as a file:// URI, percent-encoding what a URI may not hold", () => {
    expect(uriOf("/tmp/my disk#1:é%.qcow2")).toEqual({
      uri: "file:///tmp/my%20disk%231%3A%C3%A9%25.qcow2",
    });
  });

  it("writes Windows drive and UNC paths as file:// URIs with forward slashes", () => {
    expect(uriOf("C:\\cases\\disk 1.qcow2").uri).toBe("file:///C:/cases/disk%201.qcow2");
    expect(uriOf("\\\\nas\\evidence\\disk.qcow2").uri).toBe("file://nas/evidence/disk.qcow2");
  });

  it("keeps a URL as an absolute URI", () => {
    expect(uriOf("https://example.org/images/disk.qcow2")).toEqual({
      uri: "https://example.org/images/disk.qcow2",
    });
  });

  it("writes a relative path as a relative reference to %SRCROOT%, declared as the base directory", () => {
    const run = sarifOf([buildImageReport("cases/a:b c.qcow2", [finding("A", "low")])], {
      baseDirectory: "/home/examiner/work dir",
    });
    expect(run.artifacts[0].location).toEqual({
      uri: "cases/a%3Ab%20c.qcow2",
      uriBaseId: "%SRCROOT%",
    });
    expect(run.originalUriBaseIds).toEqual({
      "%SRCROOT%": { uri: "file:///home/examiner/work%20dir/" },
    });
    expect(run.invocations[0].workingDirectory).toEqual({
      uri: "file:///home/examiner/work%20dir/",
    });
    expect(run.results[0].locations[0].physicalLocation.artifactLocation).toEqual({
      uri: "cases/a%3Ab%20c.qcow2",
      uriBaseId: "%SRCROOT%",
      index: 0,
    });
  });

  it("declares %SRCROOT% without a URI when no base directory is given, and not at all for absolute paths", () => {
    const relative = sarifOf([buildImageReport("disk.qcow2", [])]);
    expect(Object.keys(relative.originalUriBaseIds)).toEqual(["%SRCROOT%"]);
    expect(relative.originalUriBaseIds["%SRCROOT%"].uri).toBeUndefined();
    expect(sarifOf([buildImageReport("/disk.qcow2", [])]).originalUriBaseIds).toBeUndefined();
  });

  it("marks an unencodable lone surrogate instead of failing", () => {
    expect(uriOf("/tmp/\ud800.qcow2").uri).toBe("file:///tmp/%EF%BF%BD.qcow2");
  });

  it("cites the whole file for a finding without a byte range when the file's size is recorded", () => {
    const img: ImageReport = {
      ...buildImageReport("/e/disk.qcow2", [finding("WHOLE", "low")]),
      container: { size: 4096, hashes: { sha256: "ab" } },
    };
    expect(sarifOf([img]).results[0].locations[0].physicalLocation.region).toEqual({
      byteOffset: 0,
      byteLength: 4096,
    });
  });

  it("lists each image as an analysis target with its custody facts under SARIF's hash names", () => {
    const img: ImageReport = {
      ...buildImageReport("/e/disk.qcow2", []),
      container: { size: 196616, hashes: { sha256: "ab", md5: "cd", sha1: "ef" } },
    };
    expect(sarifOf([img]).artifacts[0]).toEqual({
      location: { uri: "file:///e/disk.qcow2" },
      roles: ["analysisTarget"],
      length: 196616,
      hashes: { md5: "cd", "sha-1": "ef", "sha-256": "ab" },
    });
  });

  it("cites no byte region for an offset that is not an exact integer", () => {
    const f: Finding = {
      ...finding("BIG", "high"),
      evidence: [
        {
          field: "offset",
          value: "18446744073709551615",
          location: { kind: "host", offset: 2 ** 64 },
        },
      ],
    };
    const run = sarifOf([buildImageReport("/d.qcow2", [f])]);
    expect(run.results[0].locations).toEqual([
      {
        physicalLocation: {
          artifactLocation: { uri: "file:///d.qcow2", index: 0 },
          region: { byteOffset: 0 },
        },
      },
    ]);
  });
});

describe("SARIF tool, rules and invocation", () => {
  const env: ReportEnvelope = {
    ...sampleEnvelope(),
    run: {
      startedAt: "2026-11-25T18:00:00.000Z",
      finishedAt: "2026-11-25T18:00:02.500Z",
      commandLine: ["audit", "--format", "sarif", "disk.qcow2"],
    },
  };
  const run = JSON.parse(
    renderSarif(env, {
      informationUri: "https://example.org/tool#readme",
      exitCode: 3,
      ruleDescriptions: { SNAPSHOT: "one internal snapshot" },
    }),
  ).runs[0];

  it("names where to learn about the tool", () => {
    expect(run.tool.driver.informationUri).toBe("https://example.org/tool#readme");
  });

  it("gives each rule a Pascal-case friendly name and, when known, a short description", () => {
    const snapshot = run.tool.driver.rules.find((r: Json) => r.id === "SNAPSHOT");
    expect(snapshot.name).toBe("Snapshot");
    expect(snapshot.shortDescription).toEqual({ text: "one internal snapshot" });
    const beyond = run.tool.driver.rules.find((r: Json) => r.id === "DATA_BEYOND_EOF");
    expect(beyond.name).toBe("DataBeyondEof");
    expect(beyond.shortDescription).toBeUndefined();
  });

  it("records the run's arguments, start and end times and exit code", () => {
    expect(run.invocations[0]).toMatchObject({
      arguments: ["audit", "--format", "sarif", "disk.qcow2"],
      startTimeUtc: "2026-11-25T18:00:00.000Z",
      endTimeUtc: "2026-11-25T18:00:02.500Z",
      exitCode: 3,
      executionSuccessful: false,
    });
  });
});

describe("SARIF for findings folded beyond the per-code cap", () => {
  const many = Array.from({ length: 5 }, (_, i) => ({
    ...finding("LEAK", "medium"),
    evidence: [
      { field: "cluster", value: String(i), location: hostLocation(0x10000 * (i + 1), 512) },
    ],
  }));
  const kept = foldFindings(many, 2);
  const run = sarifOf([buildImageReport("/d.qcow2", kept)]);

  it("carries the summary's folded facts in its properties, and a fingerprint of its own", () => {
    const folded = kept.find((f) => f.folded !== undefined)?.folded;
    expect(folded?.total).toBe(5);
    expect(run.results).toHaveLength(kept.length);
    const summary = run.results.find((r: Json) => r.properties.folded !== undefined);
    expect(summary.properties.folded).toMatchObject({ count: folded?.count, total: 5 });
    const prints = run.results.map((r: Json) => r.partialFingerprints["findingIdentity/v1"]);
    expect(new Set(prints).size).toBe(kept.length);
  });
});

describe("SARIF partialFingerprints", () => {
  const timeAnomaly = (reference: string): Finding => ({
    ...finding("TIME", "medium"),
    evidence: [
      { field: "date", value: "1", location: hostLocation(0x30000, 4, "snapshot table") },
      { field: "reference", value: reference, location: hostLocation(0x30000) },
    ],
  });
  const prints = (findings: Finding[]) =>
    sarifOf([buildImageReport("/d.qcow2", findings)]).results.map(
      (r: Json) => r.partialFingerprints["findingIdentity/v1"],
    );

  it("are equal for the same finding in two runs, even when an evidence value holds the audit clock", () => {
    const [first] = prints([timeAnomaly("1790000000")]);
    expect(first).toMatch(/^[0-9a-f]{16}$/);
    expect(prints([timeAnomaly("1790086400")])).toEqual([first]);
  });

  it("differ between findings at different places, and between look-alike findings of one image", () => {
    const elsewhere: Finding = {
      ...timeAnomaly("1"),
      evidence: [
        { field: "date", value: "1", location: hostLocation(0x40000, 4, "snapshot table") },
      ],
    };
    const all = prints([timeAnomaly("1"), timeAnomaly("1"), elsewhere, finding("OTHER", "low")]);
    expect(new Set(all).size).toBe(4);
  });
});

describe("SARIF schema", () => {
  it("validates against the official SARIF 2.1.0 JSON schema", async () => {
    const { createRequire } = await import("node:module");
    const require = createRequire(import.meta.url);
    const AjvDraft04 = (await import("ajv-draft-04")).default;
    const schema = require("@microsoft/sarif-matcher-utils/lib/schemas/sarif-2.1.0-rtm.5.json");
    const validate = new AjvDraft04({
      allErrors: true,
      strict: false,
      unicodeRegExp: false,
    }).compile(schema);
    const log = JSON.parse(renderSarif(sampleEnvelope()));
    expect(validate(log), JSON.stringify(validate.errors, null, 2)).toBe(true);
    expect(log.runs[0].results.length).toBeGreaterThan(0);
  });
});
