import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { loadFixtureSet } from "../../../fixtures/harness/index.js";
import { mapLimit, runCliAsync, SARIF_MULTITOOL_ENV, sarifMultitool } from "./client-tools.js";
import { explain } from "./run-cli.js";

// The official validator (`sarif-multitool validate`, Microsoft's SARIF SDK)
// over the SARIF of every fixture, given by absolute and by relative path,
// and of one batch of them all: what a code-scanning upload would check.

const set = loadFixtureSet();
const REPO = resolve(set.dir, "..");
const tool = sarifMultitool();

interface Finding {
  file: string;
  level: string;
  rule: string;
  text: string;
}

/** A result in the validator's own SARIF log. */
interface ValidatorResult {
  ruleId: string;
  level?: string;
  message?: { arguments?: string[] };
  locations?: Array<{ physicalLocation?: { artifactLocation?: { uri?: string } } }>;
}

/** Validates every `*.sarif` under `dir` in one run; returns what it reported, per input file. */
function validate(binary: string, dir: string, count: number): Finding[] {
  const log = join(dir, "validation.sarif.log");
  const r = spawnSync(
    binary,
    [
      "validate",
      "--output",
      log,
      "--log",
      "ForceOverwrite",
      "--level",
      "Error;Warning;Note",
      join(dir, "*.sarif"),
    ],
    { encoding: "utf8", env: SARIF_MULTITOOL_ENV, maxBuffer: 64 << 20 },
  );
  expect(r.status, r.stderr + r.stdout).toBe(0);
  // Proof that it read every file, not an empty folder.
  expect(r.stdout).toContain(`Done. ${count} files scanned.`);
  const run = JSON.parse(readFileSync(log, "utf8")).runs[0];
  const failures = (run.invocations ?? []).flatMap(
    (inv: {
      toolExecutionNotifications?: unknown[];
      toolConfigurationNotifications?: unknown[];
    }) => [
      ...(inv.toolExecutionNotifications ?? []),
      ...(inv.toolConfigurationNotifications ?? []),
    ],
  );
  expect(failures).toEqual([]);
  return (run.results as ValidatorResult[]).map((res) => ({
    file: decodeURIComponent(
      String(res.locations?.[0]?.physicalLocation?.artifactLocation?.uri ?? ""),
    ).replace(/^file:\/\//, ""),
    level: res.level ?? "warning",
    rule: res.ruleId,
    text: `${res.ruleId} ${(res.message?.arguments ?? []).join(" | ")}`,
  }));
}

const errorsAndWarnings = (all: Finding[], file: string) =>
  all.filter((f) => f.file === file && (f.level === "error" || f.level === "warning"));

if ("skip" in tool) {
  describe("SARIF accepted by sarif-multitool validate", () => {
    it.skip(tool.skip, () => {});
  });
} else {
  describe("SARIF accepted by sarif-multitool validate", () => {
    const out = mkdtempSync(join(tmpdir(), "qcow2-sarif-"));
    const files: Array<{ label: string; file: string }> = [];
    let reported: Finding[] = [];

    beforeAll(async () => {
      const entries = set.entries;
      const jobs = entries.flatMap((e) => {
        const absolute = set.path(e);
        const pass = e.passphraseFile ? ["--passphrase-file", join(set.dir, e.passphraseFile)] : [];
        return [
          { label: `${e.name} (absolute path)`, args: [...pass, absolute] },
          { label: `${e.name} (relative path)`, args: [...pass, relative(REPO, absolute)] },
        ];
      });
      jobs.push({
        label: "batch of every fixture (relative paths, container hashes)",
        args: [
          "--hash-container",
          "--hash-algorithm",
          "sha256,sha1,md5",
          ...entries.map((e) => relative(REPO, set.path(e))),
        ],
      });
      const results = await mapLimit(jobs, 2, (j) =>
        runCliAsync(["audit", "--format", "sarif", ...j.args], REPO),
      );
      mkdirSync(join(out, "ours"));
      for (const [i, r] of results.entries()) {
        const job = jobs[i] as { label: string };
        expect(r.stdout, `${job.label}: ${explain(r)}`).toMatch(/^\{/);
        const file = join(out, "ours", `${i}.sarif`);
        writeFileSync(file, r.stdout);
        files.push({ label: job.label, file });
      }
      // The harness must be able to fail: the SARIF an earlier version wrote
      // (absolute paths as bare "/…" references) is given to the same run.
      const first = readFileSync(files[0]?.file as string, "utf8");
      writeFileSync(
        join(out, "ours", "bare-absolute-path.sarif"),
        first.replaceAll(/"file:\/\/(\/[^"]*)"/g, '"$1"'),
      );
      reported = validate(tool.path, join(out, "ours"), files.length + 1);
    }, 300_000);

    it("reports no error and no warning on any fixture, by absolute or relative path, or on a batch", () => {
      expect(files.length).toBe(set.entries.length * 2 + 1);
      const problems = files.flatMap(({ label, file }) =>
        errorsAndWarnings(reported, file).map((f) => `${label}: ${f.level} ${f.text}`),
      );
      expect(problems).toEqual([]);
    });

    it("does report the error an absolute path written as a bare reference causes (SARIF1004)", () => {
      const bare = errorsAndWarnings(reported, join(out, "ours", "bare-absolute-path.sarif"));
      expect(bare.map((f) => f.rule)).toContain("SARIF1004");
    });

    it("gives the same results the same fingerprints in a second run", async () => {
      const image = relative(REPO, join(set.dir, "images", "leak.qcow2"));
      const prints = async () => {
        const r = await runCliAsync(["audit", "--format", "sarif", image], REPO);
        return JSON.parse(r.stdout).runs[0].results.map(
          (x: { ruleId: string; partialFingerprints: object }) => [x.ruleId, x.partialFingerprints],
        );
      };
      const first = await prints();
      expect(first.length).toBeGreaterThan(0);
      expect(await prints()).toEqual(first);
    });
  });
}
