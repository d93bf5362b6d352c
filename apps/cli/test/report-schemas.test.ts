import { createRequire } from "node:module";
import Ajv2020 from "ajv/dist/2020.js";
import { describe, expect, it } from "vitest";
import { loadFixtureSet } from "../../../fixtures/harness/index.js";
import { runCli } from "./run-cli.js";

// The published schemas, read where a user gets them: the @x/report package.
const require = createRequire(import.meta.url);
const reportPackage = require("@x/report/package.json") as { name: string; version: string };
const reportSchema = require("@x/report/schema/report.schema.json") as object;
const lineSchema = require("@x/report/schema/report-line.schema.json") as object;
// Strict JSON Schema 2020-12: a schema keyword Ajv does not know is an error, not ignored.
const validateReport = new Ajv2020({ allErrors: true }).compile(reportSchema);
const validateLine = new Ajv2020({ allErrors: true }).compile(lineSchema);

const set = loadFixtureSet();
const every = set.entries.map((e) => set.path(e));

describe("published report schemas", () => {
  it("--format json names its published schema in $schema and validates against it, for every fixture", () => {
    const doc = JSON.parse(runCli(["audit", "--format", "json", ...every]).stdout);
    expect(doc.$schema).toBe(
      `https://unpkg.com/${reportPackage.name}@${reportPackage.version}/schema/report.schema.json`,
    );
    expect(validateReport(doc), JSON.stringify(validateReport.errors)).toBe(true);
    expect(doc.images).toHaveLength(every.length);
  });

  it("every --format jsonl line validates against the published line schema, for every fixture", () => {
    const lines = runCli(["audit", "--format", "jsonl", ...every])
      .stdout.trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.some((l) => l.error !== undefined)).toBe(true);
    expect(lines.filter((l) => l.code !== undefined).length).toBeGreaterThan(50);
    for (const line of lines)
      expect(
        validateLine(line),
        `${JSON.stringify(line)}: ${JSON.stringify(validateLine.errors)}`,
      ).toBe(true);
  });
});
