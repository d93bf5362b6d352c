import { describe, expect, it } from "vitest";
import { buildImageReport, renderSarif, SEVERITIES, sarifLevel } from "../src/index.js";
import { finding, sampleEnvelope } from "./helpers.js";

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
          artifactLocation: { uri: "disk.qcow2", index: 0 },
          region: { byteOffset: 0x50000, byteLength: 65536 },
        },
      },
    ]);
    expect(run.results[1].locations[0].physicalLocation.region).toBeUndefined();
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

  it("percent-encodes image paths that are not valid URI references", () => {
    const env = {
      tool: { name: "t", version: "1" },
      images: [buildImageReport("/tmp/my disk#1.qcow2", [finding("A", "low")])],
    };
    const uri = JSON.parse(renderSarif(env)).runs[0].artifacts[0].location.uri;
    expect(uri).toBe("/tmp/my%20disk%231.qcow2");
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
