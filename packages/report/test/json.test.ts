import { readFileSync } from "node:fs";
import Ajv2020 from "ajv/dist/2020";
import { describe, expect, it } from "vitest";
import {
  buildImageReport,
  CATEGORIES,
  REPORT_SCHEMA_URL,
  type ReportEnvelope,
  renderJson,
  SEVERITIES,
} from "../src/index.js";
import { finding, sampleEnvelope } from "./helpers.js";

const schema = JSON.parse(
  readFileSync(new URL("../schema/report.schema.json", import.meta.url), "utf8"),
);
// biome-ignore lint/suspicious/noExplicitAny: mutating parsed JSON to build invalid documents
type Doc = any;

const validate = new Ajv2020({ allErrors: true }).compile(schema);

describe("renderJson", () => {
  it("produces output that validates against the published schema", () => {
    const doc = JSON.parse(renderJson(sampleEnvelope()));
    expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
  });

  it.each([
    ["an unknown severity", (d: Doc) => (d.images[0].findings[0].severity = "severe")],
    ["an unknown category", (d: Doc) => (d.images[0].findings[0].category = "misc")],
    ["a negative offset", (d: Doc) => (d.images[0].findings[0].evidence[0].location.offset = -1)],
    [
      "an unknown location kind",
      (d: Doc) => (d.images[0].findings[0].evidence[0].location.kind = "cloud"),
    ],
    ["a missing maxSeverity", (d: Doc) => delete d.images[1].maxSeverity],
    ["an extra image key", (d: Doc) => (d.images[0].extra = true)],
    ["an error without a message", (d: Doc) => delete d.images[2].error.message],
  ])("rejects an envelope with %s", (_label, mutate) => {
    const doc = JSON.parse(renderJson(sampleEnvelope()));
    mutate(doc);
    expect(validate(doc)).toBe(false);
  });

  it("names the published schema of this package version first, as $schema", () => {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
    const out = renderJson(sampleEnvelope());
    expect(out.split("\n")[1]).toBe(`  "$schema": "${REPORT_SCHEMA_URL}",`);
    // The address is the schema file as npm publishes it: this package, this version, this path.
    expect(REPORT_SCHEMA_URL).toBe(
      `https://unpkg.com/${pkg.name}@${pkg.version}/schema/report.schema.json`,
    );
    expect(pkg.exports["./schema/report.schema.json"]).toBe("./schema/report.schema.json");
    expect(pkg.files).toContain("schema");
  });

  it("keeps the schema's severity and category enums in sync with the code", () => {
    expect(schema.$defs.severity.enum).toEqual(SEVERITIES);
    expect(schema.$defs.category.enum).toEqual(CATEGORIES);
  });

  it("pretty-prints with two spaces and a trailing newline", () => {
    const out = renderJson(sampleEnvelope());
    expect(out.endsWith("}\n")).toBe(true);
    expect(out.split("\n")[2]).toBe('  "tool": {');
  });

  it("writes keys in a stable order regardless of input key order", () => {
    const scrambled: ReportEnvelope = {
      images: [
        {
          error: null,
          maxSeverity: "low",
          findings: [
            {
              evidence: [{ location: { offset: 1, kind: "guest" }, value: "v", field: "f" }],
              source: { scope: "s", analyzer: "a" },
              note: "n",
              code: "C",
              category: "format",
              severity: "low",
            },
          ],
          path: "p",
        },
      ],
      tool: { version: "1", name: "t" },
    };
    const ordered: ReportEnvelope = {
      tool: { name: "t", version: "1" },
      images: [
        {
          path: "p",
          findings: [
            {
              severity: "low",
              category: "format",
              code: "C",
              note: "n",
              source: { analyzer: "a", scope: "s" },
              evidence: [{ field: "f", value: "v", location: { kind: "guest", offset: 1 } }],
            },
          ],
          maxSeverity: "low",
          error: null,
        },
      ],
    };
    expect(renderJson(scrambled)).toBe(renderJson(ordered));
    expect(renderJson(ordered)).toBe(
      `${JSON.stringify({ $schema: REPORT_SCHEMA_URL, ...ordered }, null, 2)}\n`,
    );
  });

  it("omits severity for unrated findings rather than writing null", () => {
    const env = {
      tool: { name: "t", version: "1" },
      images: [buildImageReport("p", [finding("U")])],
    };
    const doc = JSON.parse(renderJson(env));
    expect("severity" in doc.images[0].findings[0]).toBe(false);
    expect(validate(doc)).toBe(true);
  });
});

describe("custody fields", () => {
  it("an envelope with run facts and container hashes validates and renders them in a fixed order", async () => {
    const { renderJson } = await import("../src/index.js");
    const env = {
      tool: { name: "t", version: "1" },
      run: {
        startedAt: "2026-11-25T18:00:00.000Z",
        finishedAt: "2026-11-25T18:00:01.000Z",
        commandLine: ["audit", "x.qcow2"],
      },
      images: [
        {
          path: "x.qcow2",
          findings: [],
          maxSeverity: null,
          error: null,
          container: { size: 4, hashes: { sha256: "ab", md5: "cd" } },
        },
      ],
    };
    const parsed = JSON.parse(renderJson(env));
    expect(Object.keys(parsed)).toEqual(["$schema", "tool", "run", "images"]);
    expect(Object.keys(parsed.images[0].container.hashes)).toEqual(["md5", "sha256"]);
    expect(validate(parsed), JSON.stringify(validate.errors)).toBe(true);
  });
});
