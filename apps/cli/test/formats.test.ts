import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { loadFixtureSet, qcowEntries } from "../../../fixtures/harness/index.js";
// @ts-expect-error — a plain .mjs script without types
import { cliDocs } from "../scripts/cli-docs.mjs";
import { runMain } from "./in-process.js";
import { CLI, explain, parseJsonOutput, runCli } from "./run-cli.js";

const set = loadFixtureSet();
const path = (name: string) => {
  const e = set.entries.find((x) => x.name === name);
  if (!e) throw new Error(`no fixture ${name}`);
  return set.path(e);
};
const SAMPLE = ["snapshots", "leak", "orphan", "corrupt", "overlay", "trailing-data", "text"].map(
  path,
);

type Row = string; // "path|code|severity"

/** A strict RFC 4180 reader: quoted fields, doubled quotes, CRLF records. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      row.push(field);
      field = "";
    } else if (c === "\r" && text[i + 1] === "\n") {
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
      i++;
    } else field += c;
  }
  return rows;
}

function audit(format: string): string {
  const r = runCli(["audit", "--format", format, ...SAMPLE]);
  expect(r.code, explain(r)).toBe(3); // text.txt cannot be read; the others are reported
  return r.stdout;
}

describe("output formats round-trip the same findings", () => {
  const fromJson = (): Row[] =>
    (
      JSON.parse(audit("json")).images as Array<{
        path: string;
        findings: Array<{ code: string; severity: string }>;
      }>
    )
      .flatMap((i) => i.findings.map((f) => `${i.path}|${f.code}|${f.severity}`))
      .sort();

  it("json, jsonl, csv and sarif carry identical (path, code, severity) sets", () => {
    const json = fromJson();
    expect(json.length).toBeGreaterThan(5);
    const jsonl = audit("jsonl")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l))
      .filter((o) => o.code !== undefined)
      .map((o) => `${o.path}|${o.code}|${o.severity}`)
      .sort();
    const [header, ...rows] = parseCsv(audit("csv"));
    const col = (n: string) => (header as string[]).indexOf(n);
    const csv = rows
      .filter((r) => r[col("category")] !== "error")
      .map((r) => `${r[col("path")]}|${r[col("code")]}|${r[col("severity")]}`)
      .sort();
    const level: Record<string, string[]> = {
      error: ["high", "critical"],
      warning: ["medium"],
      note: ["low", "info"],
    };
    const sarif = JSON.parse(audit("sarif"));
    const sarifRows = (
      sarif.runs[0].results as Array<{
        ruleId: string;
        level: string;
        locations: Array<{ physicalLocation: { artifactLocation: { uri: string } } }>;
      }>
    )
      // Absolute image paths are file:// URIs in SARIF.
      .map(
        (r) =>
          `${fileURLToPath(r.locations[0]?.physicalLocation.artifactLocation.uri ?? "")}|${r.ruleId}|${r.level}`,
      )
      .sort();
    expect(jsonl).toEqual(json);
    expect(csv).toEqual(json);
    expect(sarifRows.length).toBe(json.length);
    const jsonAsSarif = json.map((r) => {
      const [p, code, severity] = r.split("|") as [string, string, string];
      const lv = Object.entries(level).find(([, s]) => s.includes(severity))?.[0];
      return `${p}|${code}|${lv}`;
    });
    expect(sarifRows).toEqual(jsonAsSarif.sort());
  });

  it("jsonl reports an unreadable image as one error line", () => {
    const errors = audit("jsonl")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l))
      .filter((o) => o.error !== undefined);
    expect(errors).toEqual([
      { path: path("text"), error: { code: "BAD_MAGIC", message: expect.any(String) } },
    ]);
  });

  it("timeline is a Timesketch CSV: message, ISO 8601 datetime, timestamp_desc, then ours, dated as qemu-img records it", () => {
    const snaps =
      set.answerJson<{ snapshots: Array<{ id: string; name: string; "date-sec": number }> }>(
        "snapshots",
        "info.json",
      )?.snapshots ?? [];
    expect(snaps.length).toBe(2);
    const [header, ...rows] = parseCsv(
      runCli(["audit", "--format", "timeline", path("snapshots")]).stdout,
    );
    expect(header).toEqual([
      "message",
      "datetime",
      "timestamp_desc",
      "timestamp",
      "path",
      "subject",
      "event",
      "size",
    ]);
    const col = (row: string[] | undefined, name: string) =>
      row?.[(header as string[]).indexOf(name)] ?? "";
    const bySubject = new Map(rows.map((r) => [col(r, "subject"), r]));
    for (const s of snaps) {
      const row = bySubject.get(`snapshot ${s.id} "${s.name}"`);
      const datetime = col(row, "datetime");
      expect(datetime).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/);
      expect(Date.parse(datetime)).toBe(s["date-sec"] * 1000);
      // Timesketch's optional `timestamp` is in microseconds.
      expect(col(row, "timestamp")).toBe(`${s["date-sec"]}000000`);
      expect(col(row, "timestamp_desc")).toBe("Creation Time");
      expect(col(row, "message")).toContain(`snapshot ${s.id} "${s.name}"`);
      expect(col(row, "path")).toBe(path("snapshots"));
    }
    expect(rows).toHaveLength(snaps.length);
  });

  it("snapshots --format timeline writes the same rows as audit --format timeline", () => {
    const audit = runCli(["audit", "--format", "timeline", path("snapshots")]).stdout;
    expect(runCli(["snapshots", "--format", "timeline", path("snapshots")]).stdout).toBe(audit);
  });

  it("bodyfile lines have the 11 fields of a Sleuth Kit 3 body file, one per snapshot", () => {
    const body = runCli(["snapshots", "--format", "bodyfile", path("snapshots")])
      .stdout.trim()
      .split("\n");
    expect(body).toHaveLength(2);
    for (const line of body) expect(line.split("|")).toHaveLength(11);
  });
});

describe("batches", () => {
  it("audits a folder of 200 copies picked by magic, each exactly once, the same with 1 or 2 threads", () => {
    const dir = mkdtempSync(join(tmpdir(), "qcow2-batch-"));
    const sources = qcowEntries(set)
      .filter((e) => !e.storedAs)
      .map((e) => set.path(e));
    for (let i = 0; i < 200; i++) {
      const sub = join(dir, `case-${i % 10}`);
      mkdirSync(sub, { recursive: true });
      // Odd names: the magic decides, not the extension.
      copyFileSync(sources[i % sources.length] as string, join(sub, `evidence-${i}.bin`));
    }
    copyFileSync(path("text"), join(dir, "notes.qcow2"));
    const audit = (jobs: string) => {
      const r = runCli([
        "audit",
        "--recursive",
        "--jobs",
        jobs,
        "--format",
        "json",
        "--quick",
        dir,
      ]);
      return parseJsonOutput(r).images as Array<{
        path: string;
        findings: Array<{ code: string }>;
      }>;
    };
    const two = audit("2");
    expect(two).toHaveLength(200);
    expect(new Set(two.map((i) => i.path)).size).toBe(200);
    expect(two.some((i) => i.path.endsWith("notes.qcow2"))).toBe(false);
    const codes = (images: typeof two) =>
      images.map((i) => `${i.path}|${i.findings.map((f) => f.code).join(",")}`);
    expect(codes(two)).toEqual(codes(audit("1")));
    const streamed = runCli([
      "audit",
      "--recursive",
      "--jobs",
      "2",
      "--format",
      "jsonl",
      "--quick",
      dir,
    ])
      .stdout.trim()
      .split("\n");
    expect(streamed.length).toBe(two.reduce((n, i) => n + i.findings.length, 0));
  }, 120_000);

  it("json and text are ordered by path whatever finishes first", () => {
    const shuffled = [path("snapshots"), path("leak"), path("corrupt")];
    const r = runCli(["audit", "--format", "json", "--jobs", "2", ...shuffled]);
    const order = parseJsonOutput(r).images.map((i: { path: string }) => i.path);
    expect(order).toEqual([...shuffled].sort());
  });
});

describe("custody", () => {
  it("--hash-container records size and digests of each evidence file; the run records what was done", () => {
    const args = [
      "audit",
      "--format",
      "json",
      "--hash-container",
      "--hash-algorithm",
      "sha256,md5,sha1",
      path("snapshots"),
    ];
    const r = runCli(args);
    const doc = parseJsonOutput(r);
    const bytes = readFileSync(path("snapshots"));
    expect(doc.images[0].container).toEqual({
      size: bytes.length,
      hashes: {
        md5: createHash("md5").update(bytes).digest("hex"),
        sha1: createHash("sha1").update(bytes).digest("hex"),
        sha256: createHash("sha256").update(bytes).digest("hex"),
      },
    });
    expect(doc.run.commandLine).toEqual(args);
    expect(Date.parse(doc.run.finishedAt)).toBeGreaterThanOrEqual(Date.parse(doc.run.startedAt));
  });

  it("never writes to evidence: every command leaves every fixture's bytes, size and mtime unchanged", async () => {
    const out = mkdtempSync(join(tmpdir(), "qcow2-readonly-"));
    const pass = set.entries.find((e) => e.passphraseFile)?.passphraseFile;
    const entries = qcowEntries(set).filter((e) => !e.storedAs);
    const before = entries.map((e) => {
      const p = set.path(e);
      return {
        p,
        sha: createHash("sha256").update(readFileSync(p)).digest("hex"),
        size: statSync(p).size,
        mtime: statSync(p).mtimeMs,
      };
    });
    // In this process: the same code paths as the binary, without 400 process starts.
    for (const [i, e] of entries.entries()) {
      const p = set.path(e);
      const pf = e.passphraseFile ? ["--passphrase-file", join(set.dir, e.passphraseFile)] : [];
      await runMain(["info", "--json", p]);
      await runMain(["snapshots", p]);
      await runMain(["audit", "--hash-container", p]);
      await runMain(["check", p]);
      await runMain(["map", ...pf, p]);
      await runMain(["hash", "--container", ...pf, p]);
      await runMain(["volumes", ...pf, p]);
      await runMain(["export", ...pf, p, join(out, `${i}.raw`)]);
      await runMain(["carve", p, join(out, `carve-${i}`)]);
      const snap = (set.answerJson<{ snapshots?: Array<{ name: string }> }>(e.name, "info.json")
        ?.snapshots ?? [])[0];
      if (snap) await runMain(["vmstate", "-s", snap.name, p, join(out, `${i}.vm`)]);
    }
    // And the binary itself, on one image with snapshots and VM state.
    const vm = set.path(
      entries.find((e) => e.name === "vmstate") ?? (entries[0] as (typeof entries)[0]),
    );
    for (const args of [
      ["audit", vm],
      ["check", vm],
      ["hash", vm],
      ["export", vm, join(out, "bin.raw")],
    ])
      runCli(args);
    expect(pass).toBeDefined();
    for (const b of before) {
      expect(createHash("sha256").update(readFileSync(b.p)).digest("hex"), b.p).toBe(b.sha);
      expect(statSync(b.p).size).toBe(b.size);
      expect(statSync(b.p).mtimeMs).toBe(b.mtime);
    }
  }, 300_000);
});

describe("progress bar", () => {
  const hasScript = spawnSync("script", ["--version"]).status === 0;
  it.skipIf(!hasScript)(
    "appears on a terminal (a real pseudo-terminal via script(1)) and not on a pipe",
    () => {
      const image = path("clean-v3");
      // script(1) runs the command on a fresh pty; COLUMNS keeps the bar on one line.
      const tty = execFileSync(
        "script",
        ["-qec", `${process.execPath} ${CLI} hash ${image} </dev/null`, "/dev/null"],
        {
          encoding: "utf8",
          env: { ...process.env, COLUMNS: "200" },
        },
      );
      expect(tty).toMatch(/hash \[#+\] 100%/);
      const pipe = runCli(["hash", image]);
      expect(pipe.stderr).not.toMatch(/\[#/);
      const quiet = execFileSync(
        "script",
        ["-qec", `${process.execPath} ${CLI} hash --quiet ${image} </dev/null`, "/dev/null"],
        { encoding: "utf8" },
      );
      expect(quiet).not.toMatch(/\[#/);
    },
  );
});

describe("help that teaches", () => {
  it("docs/cli.md equals the program's --help (regenerate with node apps/cli/scripts/cli-docs.mjs)", () => {
    expect(readFileSync(join(set.dir, "../docs/cli.md"), "utf8")).toBe(cliDocs());
  });

  it("codes lists every finding code the auditor knows, with severity", () => {
    const codes = parseJsonOutput(runCli(["codes", "--json"])) as Array<{
      code: string;
      severity: string;
    }>;
    expect(codes.length).toBeGreaterThanOrEqual(30);
    const text = runCli(["codes"]).stdout;
    for (const c of codes) expect(text).toMatch(new RegExp(`^${c.code}\\s+${c.severity}`, "m"));
  });

  it("completion scripts are valid and name every command", () => {
    const bash = runCli(["completion", "bash"]).stdout;
    expect(spawnSync("bash", ["-n"], { input: bash }).status).toBe(0);
    const zsh = runCli(["completion", "zsh"]).stdout;
    for (const c of [
      "audit",
      "info",
      "snapshots",
      "check",
      "map",
      "export",
      "hash",
      "carve",
      "vmstate",
      "volumes",
      "codes",
    ]) {
      expect(bash).toContain(c);
      expect(zsh).toContain(`'${c}:`);
    }
  });
});
