import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { mergeRanges, type Range } from "../../../fixtures/harness/diff-matrix.js";
import { FIXTURES_DIR, loadFixtureSet, qemuOrSkipReason } from "../../../fixtures/harness/index.js";
import {
  bitmapExtents,
  findBitmap,
  type GuestRange,
  inspect,
  isQcow2Error,
  readBitmaps,
} from "../src/index.js";
import { openFileSource } from "../src/node.js";

// Live: bitmaps written by QEMU itself (qemu-img bitmap --add/--disable/--merge, and writes through
// qemu-io, which keeps enabled persistent bitmaps up to date), read back with QEMU as the oracle:
// qemu-nbd exports the image with the bitmap (-B) and `qemu-img map` over NBD with
// x-dirty-bitmap=qemu:dirty-bitmap:<name> reports the dirty ranges as "data": false.
const skip = qemuOrSkipReason() ?? nbdOrSkipReason();

function nbdOrSkipReason(): string | undefined {
  const r = spawnSync("qemu-nbd", ["--version"], { stdio: "ignore" });
  if (!r.error && r.status === 0) return undefined;
  const reason = "qemu-nbd not on PATH (apt-get install qemu-utils): bitmap oracle suite skipped";
  if (process.env.QCOW2_FORENSIC_REQUIRE_QEMU)
    throw new Error(`QCOW2_FORENSIC_REQUIRE_QEMU is set but ${reason}`);
  console.warn(`[bitmaps] ${reason}`);
  return reason;
}

const dir = skip === undefined ? mkdtempSync(join(tmpdir(), "qcow2-bitmaps-")) : "";
afterAll(() => {
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
});
let sockets = 0;

const run = (tool: string, args: string[]) =>
  execFileSync(tool, args, { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
const qio = (file: string, ...commands: string[]) =>
  run("qemu-io", [...commands.flatMap((c) => ["-c", c]), file]);

/** QEMU's view of bitmap `name`: the ranges qemu-nbd's dirty-bitmap context marks dirty. */
function qemuDirty(file: string, name: string): Range[] {
  const socket = join(dir, `nbd-${sockets++}.sock`);
  const pidFile = `${socket}.pid`;
  // Without --persistent, qemu-nbd serves one client and exits.
  run("qemu-nbd", [
    "--fork",
    "--pid-file",
    pidFile,
    "-r",
    "-k",
    socket,
    "-f",
    "qcow2",
    "-B",
    name,
    file,
  ]);
  try {
    const map = JSON.parse(
      run("qemu-img", [
        "map",
        "--output=json",
        "--image-opts",
        `driver=nbd,server.type=unix,server.path=${socket},x-dirty-bitmap=qemu:dirty-bitmap:${name}`,
      ]),
    ) as Array<{ start: number; length: number; data: boolean }>;
    return mergeRanges(
      map.filter((e) => !e.data).map((e) => ({ start: e.start, length: e.length })),
    );
  } finally {
    if (existsSync(pidFile)) {
      const pid = Number(readFileSync(pidFile, "utf8"));
      try {
        process.kill(pid, 0);
        process.kill(pid);
      } catch {
        // Already gone: it exits after its one client.
      }
    }
  }
}

async function ours(file: string, name: string): Promise<GuestRange[]> {
  const source = await openFileSource(join(dir, file));
  try {
    const info = await inspect(source);
    const directory = await readBitmaps(source, info);
    const out: GuestRange[] = [];
    for await (const r of bitmapExtents(source, info, directory, findBitmap(directory, name)))
      out.push(r);
    return out;
  } finally {
    await source.close();
  }
}

describe.skipIf(skip !== undefined)("bitmap extents against qemu-nbd's dirty-bitmap export", () => {
  it("enabled, disabled and merged bitmaps of several granularities equal QEMU's", async () => {
    run("qemu-img", ["create", "-q", "-f", "qcow2", "-o", "cluster_size=4k", "a.qcow2", "64M"]);
    qio("a.qcow2", "write -P 1 0 1M");
    run("qemu-img", ["bitmap", "--add", "-g", "512", "a.qcow2", "fine"]);
    run("qemu-img", ["bitmap", "--add", "-g", "64k", "a.qcow2", "coarse"]);
    run("qemu-img", ["bitmap", "--add", "-g", "1M", "a.qcow2", "later"]);
    // Partial sectors, runs across bitmap-data clusters (4 KiB of bitmap = 16 MiB of disk at 512 B).
    qio(
      "a.qcow2",
      "write -P 2 1000 100",
      "write -P 3 16777000 1000",
      "write -P 4 40M 3M",
      "write -z 60M 512",
    );
    run("qemu-img", ["bitmap", "--disable", "a.qcow2", "later"]);
    qio("a.qcow2", "write -P 5 63M 4k", "discard 2M 64k");
    run("qemu-img", ["bitmap", "--add", "--disable", "-g", "64k", "a.qcow2", "merged"]);
    run("qemu-img", ["bitmap", "--merge", "fine", "a.qcow2", "merged"]);
    for (const name of ["fine", "coarse", "later", "merged"]) {
      const expected = qemuDirty("a.qcow2", name);
      expect(expected.length, name).toBeGreaterThan(0);
      expect(await ours("a.qcow2", name), name).toEqual(expected);
    }
  });

  it("an empty bitmap has no extents, as QEMU says", async () => {
    run("qemu-img", ["create", "-q", "-f", "qcow2", "e.qcow2", "8M"]);
    qio("e.qcow2", "write -P 1 0 1M");
    run("qemu-img", ["bitmap", "--add", "e.qcow2", "clean"]);
    expect(qemuDirty("e.qcow2", "clean")).toEqual([]);
    expect(await ours("e.qcow2", "clean")).toEqual([]);
  });

  it("a bitmap table entry poked to all-ones (offset 0, bit 0) reads as QEMU reads it", async () => {
    run("qemu-img", ["create", "-q", "-f", "qcow2", "-o", "cluster_size=4k", "p.qcow2", "64M"]);
    run("qemu-img", ["bitmap", "--add", "-g", "512", "p.qcow2", "poked"]);
    qio("p.qcow2", "write -P 1 20M 4k", "write -P 2 50M 1k");
    const q = join(FIXTURES_DIR, "lib", "q.cjs");
    const [entry] = JSON.parse(run("node", [q, "bitmap-entries", "p.qcow2"])) as Array<{
      offset: number;
    }>;
    const table = Number(run("node", [q, "field", "p.qcow2", String(entry?.offset), "8"]).trim());
    // The second table entry covers disk bytes 16–32 MiB (4 KiB of bitmap data at 512 B granularity).
    const bytes = new Uint8Array(readFileSync(join(dir, "p.qcow2")));
    new DataView(bytes.buffer).setBigUint64(table + 8, 1n);
    writeFileSync(join(dir, "p.qcow2"), bytes);
    const expected = qemuDirty("p.qcow2", "poked");
    expect(expected).toContainEqual({ start: 16 * 1024 * 1024, length: 16 * 1024 * 1024 });
    expect(await ours("p.qcow2", "poked")).toEqual(expected);
  });

  it("the committed bitmaps fixture equals QEMU's reading of it", async () => {
    const set = loadFixtureSet();
    const entry = set.entries.find((e) => e.name === "bitmaps");
    if (entry === undefined) throw new Error("no bitmaps fixture");
    writeFileSync(join(dir, "f.qcow2"), readFileSync(set.path(entry)));
    for (const name of ["bm-enabled", "bm-disabled"])
      expect(await ours("f.qcow2", name), name).toEqual(qemuDirty("f.qcow2", name));
  });

  it("an in-use bitmap is refused, as QEMU refuses to export it", async () => {
    const set = loadFixtureSet();
    const entry = set.entries.find((e) => e.name === "bitmap-in-use");
    if (entry === undefined) throw new Error("no bitmap-in-use fixture");
    writeFileSync(join(dir, "u.qcow2"), readFileSync(set.path(entry)));
    expect(() => qemuDirty("u.qcow2", "bm-in-use")).toThrow();
    const error = await ours("u.qcow2", "bm-in-use").catch((e: unknown) => e);
    expect(isQcow2Error(error) && error.code).toBe("BITMAP_INCONSISTENT");
  });
});
