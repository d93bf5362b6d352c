import { readFileSync } from "node:fs";
import Ajv2020 from "ajv/dist/2020";
import { describe, expect, it } from "vitest";
import {
  buildImageReport,
  foldFindings,
  hostLocation,
  REPORT_LINE_SCHEMA_URL,
  renderJsonLines,
} from "../src/index.js";
import { finding, sampleEnvelope } from "./helpers.js";

const read = (name: string) =>
  JSON.parse(readFileSync(new URL(`../schema/${name}`, import.meta.url), "utf8"));
const lineSchema = read("report-line.schema.json");
const reportSchema = read("report.schema.json");
const validate = new Ajv2020({ allErrors: true }).compile(lineSchema);
const lines = () =>
  renderJsonLines(sampleEnvelope())
    .trimEnd()
    .split("\n")
    .map((l) => JSON.parse(l));

describe("JSON Lines schema", () => {
  it("accepts every line renderJsonLines writes: findings and image errors", () => {
    const all = lines();
    expect(all.some((l) => l.error !== undefined)).toBe(true);
    expect(all.some((l) => l.code !== undefined)).toBe(true);
    for (const line of all) expect(validate(line), JSON.stringify(validate.errors)).toBe(true);
  });

  it("accepts the summary line of findings folded beyond the per-code cap", () => {
    const many = Array.from({ length: 4 }, (_, i) => ({
      ...finding("LEAK", "medium"),
      evidence: [{ field: "cluster", value: String(i), location: hostLocation(512 * i) }],
    }));
    const env = {
      tool: { name: "t", version: "1" },
      images: [buildImageReport("d.qcow2", foldFindings(many, 1))],
    };
    const out = renderJsonLines(env)
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(out.some((l) => l.folded !== undefined)).toBe(true);
    for (const line of out) expect(validate(line), JSON.stringify(validate.errors)).toBe(true);
  });

  it.each([
    ["a finding without its path", (l: Record<string, unknown>) => delete l.path],
    ["an unknown key", (l: Record<string, unknown>) => (l.extra = 1)],
    ["an unknown severity", (l: Record<string, unknown>) => (l.severity = "severe")],
    [
      "both a finding and an error",
      (l: Record<string, unknown>) => (l.error = { code: "X", message: "m" }),
    ],
  ])("rejects %s", (_label, mutate) => {
    const line = lines()[0] as Record<string, unknown>;
    mutate(line);
    expect(validate(line)).toBe(false);
  });

  it("stands alone with the same definitions as the report schema", () => {
    const { findingLine, errorLine, ...shared } = lineSchema.$defs;
    expect(shared).toEqual(reportSchema.$defs);
    const { path, ...findingProperties } = findingLine.properties;
    expect(path).toEqual({ type: "string" });
    expect(findingProperties).toEqual(reportSchema.$defs.finding.properties);
    expect(findingLine.required).toEqual(["path", ...reportSchema.$defs.finding.required]);
    expect(errorLine.properties.error).toEqual({ $ref: "#/$defs/error" });
  });

  it("is published beside the report schema", () => {
    const pkg = read("../package.json");
    expect(pkg.exports["./schema/report-line.schema.json"]).toBe(
      "./schema/report-line.schema.json",
    );
    expect(REPORT_LINE_SCHEMA_URL).toBe(
      `https://unpkg.com/${pkg.name}@${pkg.version}/schema/report-line.schema.json`,
    );
  });
});
