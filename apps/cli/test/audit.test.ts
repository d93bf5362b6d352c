import { mkdtempSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Ajv2020 from "ajv/dist/2020.js";
import { describe, expect, it } from "vitest";
import { expectedCodes, loadFixtureSet, qcowEntries } from "../../../fixtures/harness/index.js";
import { explain, parseJsonOutput, runCli } from "./run-cli.js";

const set = loadFixtureSet();
const NOW = new Date("2030-01-01T00:00:00Z");
const fixture = (name: string) => {
  const e = set.entries.find((x) => x.name === name);
  if (!e) throw new Error(`no fixture ${name}`);
  return set.path(e);
};
const require = createRequire(import.meta.url);
const schema = require("@x/report/schema/report.schema.json") as object;
const validate = new Ajv2020({ allErrors: true, strict: false }).compile(schema);

interface Envelope {
  tool: { name: string; version: string };
  images: {
    path: string;
    findings: { code: string; severity?: string }[];
    maxSeverity: string | null;
    error: { code: string; message: string } | null;
  }[];
}

function auditJson(args: string[]): { code: number; envelope: Envelope; stderr: string } {
  const r = runCli(["audit", "--format", "json", ...args]);
  const envelope = parseJsonOutput(r) as Envelope;
  expect(validate(envelope), JSON.stringify(validate.errors)).toBe(true);
  return { code: r.code, envelope, stderr: r.stderr };
}

describe("audit", () => {
  it("prints one QCOW2-SNAPSHOT per snapshot plus QCOW2-INTERNAL-SNAPSHOTS", () => {
    const r = runCli(["audit", fixture("snapshots")]);
    expect(r.code, explain(r)).toBe(0);
    expect(r.stdout.match(/QCOW2-SNAPSHOT\b/g)).toHaveLength(2);
    expect(r.stdout.match(/QCOW2-INTERNAL-SNAPSHOTS/g)).toHaveLength(1);
  });

  it("--format json follows the report schema and QEMU's answers for every fixture", () => {
    const entries = qcowEntries(set);
    const { envelope } = auditJson([
      "--now",
      NOW.toISOString(),
      ...entries.map((e) => set.path(e)),
    ]);
    expect(envelope.tool.name).toBe("qcow2-forensic");
    // Images come back sorted by path, whatever order they finished in.
    expect(envelope.images.map((i) => i.path)).toEqual(entries.map((e) => set.path(e)).sort());
    entries.forEach((entry) => {
      const counts: Record<string, number> = {};
      for (const f of envelope.images.find((i) => i.path === set.path(entry))?.findings ?? [])
        counts[f.code] = (counts[f.code] ?? 0) + 1;
      expect(counts, entry.name).toEqual(Object.fromEntries(expectedCodes(set, entry, NOW)));
    });
  });

  it("clean images yield no findings and exit 0 even with --fail-on info", () => {
    const { envelope, code } = auditJson([
      "--fail-on",
      "info",
      fixture("clean-v3"),
      fixture("clean-v2"),
    ]);
    expect(code).toBe(0);
    expect(envelope.images.every((i) => i.findings.length === 0 && i.maxSeverity === null)).toBe(
      true,
    );
  });

  it("--fail-on exits 1 when a finding reaches the threshold", () => {
    expect(runCli(["audit", "--fail-on", "low", fixture("snapshots")]).code).toBe(1);
    expect(runCli(["audit", "--fail-on", "medium", fixture("snapshots")]).code).toBe(0);
    expect(runCli(["audit", "--fail-on", "high", fixture("corrupt")]).code).toBe(1);
  });

  it("an unreadable image exits 3 and does not stop the others", () => {
    const { envelope, code, stderr } = auditJson([
      fixture("text"),
      fixture("snapshots"),
      "/nonexistent.qcow2",
    ]);
    expect(code).toBe(3);
    const byPath = (p: string) => envelope.images.find((i) => i.path === p);
    expect(byPath(fixture("text"))?.error?.code).toBe("BAD_MAGIC");
    // INTERNAL-SNAPSHOTS, and a SNAPSHOT and a DIVERGENCE for each of its two snapshots.
    expect(byPath(fixture("snapshots"))?.findings.length).toBe(5);
    expect(byPath("/nonexistent.qcow2")?.error?.code).toBe("IO");
    expect(stderr.trim().split("\n")).toHaveLength(2);
  });

  it("a bad --fail-on value is a usage error (exit 2)", () => {
    const r = runCli(["audit", "--fail-on", "severe", fixture("clean-v3")]);
    expect(r.code, explain(r)).toBe(2);
    expect(r.stderr).toContain("--fail-on");
  });

  it("an unknown option is a usage error (exit 2)", () => {
    expect(runCli(["audit", "--bogus", fixture("clean-v3")]).code).toBe(2);
  });
});

describe("errors are one line on stderr, never a stack trace", () => {
  const dir = mkdtempSync(join(tmpdir(), "qcow2-cli-"));
  const empty = join(dir, "empty.qcow2");
  writeFileSync(empty, "");
  const cases: Array<[string, string, RegExp]> = [
    ["a missing file", join(dir, "missing.qcow2"), /missing\.qcow2: no such file/],
    ["a directory", dir, /is a directory/],
    ["an empty file", empty, /0 bytes, shorter than a QCOW2 header/],
    ["a non-QCOW2 file", fixture("raw"), /not a QCOW image/],
    ["a truncated header", fixture("truncated-header"), /shorter than a QCOW2 header/],
    ["an unsupported version", fixture("bad-version"), /version 4/],
  ];
  for (const command of ["info", "snapshots", "audit"]) {
    // audit takes folders (their QCOW files); a folder is not an error there.
    for (const [what, path, message] of cases.filter(
      ([w]) => !(command === "audit" && w === "a directory"),
    )) {
      it(`${command} on ${what}`, () => {
        const r = runCli([command, path]);
        expect(r.code, explain(r)).toBe(3);
        const lines = r.stderr.trim().split("\n");
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatch(message);
        expect(lines[0]).toContain(path);
        expect(r.stderr).not.toMatch(/\n\s+at /);
      });
    }
  }

  it("audit of a folder without QCOW images is a usage error", () => {
    const r = runCli(["audit", mkdtempSync(join(tmpdir(), "qcow2-empty-"))]);
    expect(r.code, explain(r)).toBe(2);
    expect(r.stderr).toContain("no QCOW images found");
  });

  it("--debug adds the stack trace", () => {
    const r = runCli(["info", "--debug", fixture("raw")]);
    expect(r.stderr).toMatch(/\n\s+at /);
  });
});

describe("help and version", () => {
  for (const command of ["audit", "info", "snapshots"]) {
    it(`${command} --help shows usage and an example`, () => {
      const r = runCli([command, "--help"]);
      expect(r.code, explain(r)).toBe(0);
      expect(r.stdout).toContain(`Usage: qcow2-forensic ${command}`);
      expect(r.stdout).toContain("Example");
    });
  }

  for (const args of [
    ["--version"],
    ["audit", "--version"],
    ["info", "--version"],
    ["snapshots", "--version"],
  ]) {
    it(`${args.join(" ")} prints the package version`, () => {
      const r = runCli(args);
      expect(r.code, explain(r)).toBe(0);
      expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    });
  }
});
