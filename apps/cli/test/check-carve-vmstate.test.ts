import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadFixtureSet, qcowEntries } from "../../../fixtures/harness/index.js";
import { explain, parseJsonOutput, runCli } from "./run-cli.js";

const set = loadFixtureSet();
const fixture = (name: string) => {
  const e = set.entries.find((x) => x.name === name);
  if (!e) throw new Error(`no fixture ${name}`);
  return e;
};
const omitFilename = (o: Record<string, unknown> | undefined) => {
  const { filename: _, ...rest } = o ?? {};
  return rest;
};
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

describe("check", () => {
  for (const entry of qcowEntries(set)) {
    it(`${entry.name}: --json and the exit code equal qemu-img check's`, () => {
      const path = set.path(entry);
      // qemu-img check was given the key (--object secret) where the fixture has one.
      const key = entry.passphraseFile
        ? ["--passphrase-file", join(set.dir, entry.passphraseFile)]
        : [];
      const r = runCli(["check", "--json", ...key, path.split("/").pop() as string], {
        cwd: dirname(path),
      });
      const exit = Number(set.answerText(entry.name, "check.exit"));
      if (entry.kind === "qcow1") {
        expect(r.code, explain(r)).toBe(63);
        expect(r.stderr).toContain("does not support checks");
        return;
      }
      const qemu = set.answerJson<Record<string, unknown>>(entry.name, "check.json");
      if (qemu === undefined) {
        const qemuStderr = set.answerText(entry.name, "check.stderr") ?? "";
        // qemu-img never finished (timeout's 124) on a backing loop: ours names the loop.
        if (exit === 124) {
          expect({ code: r.code, loop: /loop/.test(r.stderr) }).toEqual({ code: 1, loop: true });
        } else {
          // qemu-img could not open the image (missing backing file, bad header, ...): neither can we.
          expect({ code: r.code, stdout: r.stdout }, qemuStderr).toEqual({
            code: exit,
            stdout: "",
          });
        }
        return;
      }
      const ours = parseJsonOutput(r) as Record<string, unknown>;
      delete ours.filename;
      delete qemu.filename;
      expect(ours).toEqual(qemu);
      expect(r.code, explain(r)).toBe(exit);
    });
  }

  for (const entry of qcowEntries(set).filter((e) => e.encrypted)) {
    it(`${entry.name}: without its key, exit code as qemu-img check's; --metadata-only checks anyway`, () => {
      const path = set.path(entry);
      const exit = Number(set.answerText(`${entry.name}.nokey`, "check.exit"));
      expect(exit).toBe(1);
      const r = runCli(["check", "--json", path]);
      expect({ code: r.code, stdout: r.stdout }).toEqual({ code: exit, stdout: "" });
      expect(r.stderr).toMatch(/passphrase/);
      const meta = runCli(["check", "--json", "--metadata-only", path]);
      const withKey = set.answerJson<Record<string, unknown>>(entry.name, "check.json");
      const ours = parseJsonOutput(meta) as Record<string, unknown>;
      delete ours.filename;
      expect(ours).toEqual(omitFilename(withKey));
    });
  }

  it("a wrong passphrase ends the check with exit code 1, as qemu-img check", () => {
    const entry = qcowEntries(set).find((e) => e.encrypted);
    if (entry === undefined) throw new Error("no encrypted fixture");
    const dir = mkdtempSync(join(tmpdir(), "qcow2-key-"));
    const wrong = join(dir, "wrong.passphrase");
    writeFileSync(wrong, "not the passphrase");
    const r = runCli(["check", "--json", "--passphrase-file", wrong, set.path(entry)]);
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 1, stdout: "" });
  });

  it("--metadata-only checks an overlay whose backing file is missing; qemu-img cannot", () => {
    const entry = fixture("backing-missing");
    expect(set.answerText(entry.name, "check.exit")).toBe("1");
    const r = runCli(["check", "--json", "--metadata-only", set.path(entry)]);
    expect(r.code, explain(r)).toBe(0);
    expect(parseJsonOutput(r)).toMatchObject({ "check-errors": 0, format: "qcow2" });
  });

  it("prints a readable report naming each problem's host offset", () => {
    const r = runCli(["check", set.path(fixture("orphan"))]);
    expect(r.code, explain(r)).toBe(2);
    expect(r.stdout).toMatch(/ERROR cluster 7 refcount=0 reference=1\s+@ host 0x7000/);
  });
});

describe("carve", () => {
  for (const name of ["leak", "orphan", "dirty"]) {
    it(`${name}: each carved file hashes to the bytes at its manifest offset`, () => {
      const image = set.path(fixture(name));
      const dir = join(mkdtempSync(join(tmpdir(), "qcow2-carve-")), "out");
      const r = runCli(["carve", image, dir]);
      expect(r.code, r.stderr).toBe(0);
      const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as {
        runs: Array<{
          file: string;
          offset: number;
          length: number;
          sha256: string;
          reason: string;
        }>;
      };
      expect(manifest.runs.length).toBeGreaterThan(0);
      const container = readFileSync(image);
      for (const run of manifest.runs) {
        const carved = readFileSync(join(dir, run.file));
        expect(carved.length).toBe(run.length);
        expect(sha256(carved)).toBe(run.sha256);
        expect(sha256(container.subarray(run.offset, run.offset + run.length))).toBe(run.sha256);
        expect(["leaked", "orphaned"]).toContain(run.reason);
      }
      const leaked = manifest.runs.filter((r) => r.reason === "leaked").length;
      expect(leaked > 0).toBe(
        Number(set.answerJson<{ leaks?: number }>(name, "check.json")?.leaks ?? 0) > 0,
      );
    });
  }

  it("refuses a folder that is not empty", () => {
    const dir = mkdtempSync(join(tmpdir(), "qcow2-carve-"));
    runCli(["carve", set.path(fixture("leak")), dir]);
    expect(runCli(["carve", set.path(fixture("leak")), dir]).code).toBe(2);
  });
});

describe("vmstate", () => {
  const entry = fixture("vmstate");
  const snapshots =
    set.answerJson<{ snapshots: Array<{ id: string; name: string; "vm-state-size": number }> }>(
      entry.name,
      "info.json",
    )?.snapshots ?? [];

  it("writes a blob of exactly the size the snapshot table records, starting with QEMU's QEVM magic", () => {
    const snap = snapshots.find((s) => s["vm-state-size"] > 0);
    expect(snap).toBeDefined();
    const out = join(mkdtempSync(join(tmpdir(), "qcow2-vmstate-")), "ram.qevm");
    const r = runCli(["vmstate", "--snapshot", snap?.name as string, set.path(entry), out]);
    expect(r.code, r.stderr).toBe(0);
    const blob = readFileSync(out);
    expect(blob.length).toBe(snap?.["vm-state-size"]);
    expect(blob.subarray(0, 4).toString("latin1")).toBe("QEVM");
    expect(r.stdout).toContain(sha256(blob));
  });

  it("audit reports QCOW2-SNAPSHOT-VMSTATE with the size", () => {
    const r = runCli(["audit", "--format", "json", set.path(entry)]);
    const finding = parseJsonOutput(r).images[0].findings.find(
      (f: { code: string }) => f.code === "QCOW2-SNAPSHOT-VMSTATE",
    );
    expect(finding.evidence.find((e: { field: string }) => e.field === "vm_state_size").value).toBe(
      String(snapshots[0]?.["vm-state-size"]),
    );
  });

  it("a snapshot without VM state is an error", () => {
    const plain = fixture("snapshots");
    const r = runCli(["vmstate", "-s", "first", set.path(plain), "-"]);
    expect(r.code, explain(r)).toBe(3);
    expect(r.stderr).toContain("carries no VM state");
  });
});
