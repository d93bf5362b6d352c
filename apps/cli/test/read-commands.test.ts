import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadFixtureSet, qcowEntries, qemuOrSkipReason } from "../../../fixtures/harness/index.js";
import { CLI, explain, parseJsonOutput, runCli } from "./run-cli.js";

const set = loadFixtureSet();
const readable = qcowEntries(set).filter((e) => !e.encrypted);
const out = mkdtempSync(join(tmpdir(), "qcow2-cli-export-"));
const fixture = (name: string) => {
  const e = readable.find((x) => x.name === name);
  if (!e) throw new Error(`no fixture ${name}`);
  return e;
};
const sha256 = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

describe("map --json", () => {
  for (const entry of readable) {
    it(`${entry.name}: prints exactly what qemu-img map --output=json printed (or one error line where qemu-img fails)`, () => {
      const r = runCli(["map", "--json", set.path(entry)]);
      if (set.answerText(entry.name, "map.json") === undefined) {
        expect(r.code, explain(r)).toBe(3);
        expect(r.stderr.trim().split("\n")).toHaveLength(1);
        return;
      }
      expect(r.stderr).toBe("");
      expect(r.code, explain(r)).toBe(0);
      expect(r.stdout.trim()).toBe(set.answerText(entry.name, "map.json"));
    });
  }

  it("prints a readable table without --json", () => {
    const overlay = readable.find((e) => e.name === "overlay");
    const r = runCli(["map", set.path(overlay as never)]);
    expect(r.code, explain(r)).toBe(0);
    expect(r.stdout).toMatch(/^START\s+LENGTH\s+DEPTH\s+STATE/);
    expect(r.stdout).toContain("base.qcow2");
  });
});

describe("export and hash", () => {
  for (const entry of readable) {
    it(`${entry.name}: export and hash equal qemu-img convert -O raw (or fail with one line and no file)`, () => {
      const expected = set.answerText(entry.name, "raw.sha256");
      const target = join(out, `${entry.name}.raw`);
      const r = runCli(["export", "--hash", "sha256,md5", set.path(entry), target]);
      if (expected === undefined) {
        expect(r.code, explain(r)).toBe(3);
        expect(r.stderr.trim().split("\n")).toHaveLength(1);
        expect(existsSync(target)).toBe(false);
        return;
      }
      expect(r.code, r.stderr).toBe(0);
      expect(sha256(target)).toBe(expected);
      expect(r.stdout).toContain(`SHA256 (${target}) = ${expected}`);
      const h = runCli(["hash", "--json", set.path(entry)]);
      expect(parseJsonOutput(h).guest.sha256).toBe(expected);
    });
  }

  it("exports each internal snapshot as qemu-img convert -l does", () => {
    const entry = fixture("snapshots");
    for (const snap of entry.expect.snapshots as string[]) {
      const r = runCli(["export", "--snapshot", snap, set.path(entry as never), "-"]);
      expect(r.code, explain(r)).toBe(0);
      const h = runCli(["hash", "--snapshot", snap, set.path(entry as never)]);
      expect(h.stdout).toContain(
        set.answerText("snapshots", `snapshot-${snap}.raw.sha256`) as string,
      );
    }
  });

  it("writes sparse output: unallocated ranges are holes", () => {
    const entry = readable.find((e) => e.name === "overlay");
    const target = join(out, "sparse.raw");
    expect(runCli(["export", set.path(entry as never), target]).code).toBe(0);
    const st = statSync(target);
    expect(st.size).toBe(2 * 1024 * 1024);
    expect(st.blocks * 512).toBeLessThan(st.size / 2);
  });

  it("--container also hashes the image file as stored", () => {
    const entry = readable.find((e) => e.name === "clean-v3");
    const h = JSON.parse(
      runCli(["hash", "--container", "--json", set.path(entry as never)]).stdout,
    );
    expect(h.container.sha256).toBe(sha256(set.path(entry as never)));
  });

  it("refuses to overwrite an existing file without --force, and any evidence file even with it", () => {
    const entry = readable.find((e) => e.name === "overlay");
    const base = readable.find((e) => e.name === "base");
    const before = sha256(set.path(base as never));
    const r1 = runCli(["export", set.path(entry as never), set.path(base as never)]);
    expect(r1.code, explain(r1)).toBe(2);
    const r2 = runCli(["export", "--force", set.path(entry as never), set.path(base as never)]);
    expect(r2.code, explain(r2)).toBe(2);
    expect(r2.stderr).toContain("refusing to overwrite evidence");
    expect(sha256(set.path(base as never))).toBe(before);
  });

  it("ships the zstd decoder's worker next to cli.js (else zstd decodes on one thread)", () => {
    expect(existsSync(join(CLI, "..", "zstd-worker.js"))).toBe(true);
  });

  it("ships the libraries loaded on first use next to cli.js, and every bundle that requires one finds it", () => {
    // A missing vendor-zstddec.js would fall back to pure-JS zstd unseen: check what the bundles ask for.
    const dist = join(CLI, "..");
    const wanted = new Set<string>();
    for (const f of readdirSync(dist).filter((f) => /^cli-.*\.js$/.test(f)))
      for (const m of readFileSync(join(dist, f), "latin1").matchAll(
        /require\("\.\/(vendor-[a-z]+\.js)"\)/g,
      ))
        wanted.add(m[1] as string);
    expect([...wanted].sort()).toEqual([
      "vendor-fflate.js",
      "vendor-volumes.js",
      "vendor-zstddec.js",
    ]);
    for (const f of wanted) expect(existsSync(join(dist, f)), f).toBe(true);
    const require = createRequire(CLI);
    const zstd = require(join(dist, "vendor-zstddec.js")) as { ZSTDDecoder?: unknown };
    const fflate = require(join(dist, "vendor-fflate.js")) as { inflateSync?: unknown };
    const volumes = require(join(dist, "vendor-volumes.js")) as { readVolumes?: unknown };
    expect([
      typeof zstd.ZSTDDecoder,
      typeof fflate.inflateSync,
      typeof volumes.readVolumes,
    ]).toEqual(["function", "function", "function"]);
  });

  it("an unknown hash algorithm is a usage error", () => {
    expect(runCli(["hash", "-a", "crc32", set.path(readable[0] as never)]).code).toBe(2);
  });

  it("a missing backing file is a one-line typed error", () => {
    const dir = mkdtempSync(join(tmpdir(), "qcow2-orphaned-overlay-"));
    const copy = join(dir, "overlay.qcow2");
    execFileSync("cp", [set.path(readable.find((e) => e.name === "overlay") as never), copy]);
    const r = runCli(["export", copy, "-"]);
    expect(r.code, explain(r)).toBe(3);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/backing file "base\.qcow2" not found/);
    const layer = runCli(["hash", "--layer-only", copy]);
    expect(layer.code, explain(layer)).toBe(0);
    const withDir = runCli(["hash", "--json", "--backing-dir", join(set.dir, "images"), copy]);
    expect(parseJsonOutput(withDir).guest.sha256).toBe(set.answerText("overlay", "raw.sha256"));
  });
});

describe.skipIf(qemuOrSkipReason() !== undefined)("interrupted export", () => {
  it("leaves neither the output nor a partial file behind", async () => {
    const dir = mkdtempSync(join(tmpdir(), "qcow2-interrupt-"));
    const big = join(dir, "big.qcow2");
    // Every cluster allocated (over a sparse host file): 64 GiB that must all be read, so the
    // export is still running when it is interrupted (long zero runs would be skipped unread).
    execFileSync("qemu-img", [
      "create",
      "-q",
      "-f",
      "qcow2",
      "-o",
      "preallocation=metadata",
      big,
      "64G",
    ]);
    const target = join(dir, "big.raw");
    const child = spawn(process.execPath, [CLI, "export", big, target], { stdio: "ignore" });
    const exited = new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
    await new Promise((r) => setTimeout(r, 1500));
    expect(child.exitCode).toBeNull(); // still running
    child.kill("SIGINT");
    const code = await exited;
    expect(code).not.toBe(0);
    expect(existsSync(target)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.includes("partial"))).toEqual([]);
  }, 30_000);
});
