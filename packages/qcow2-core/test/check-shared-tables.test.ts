import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { qemuOrSkipReason } from "../../../fixtures/harness/index.js";
import {
  check,
  inspect,
  memorySource,
  qemuCheckExitCode,
  readSnapshots,
  toQemuCheckJson,
} from "../src/index.js";
import { openFileSource } from "../src/node.js";
import { poke } from "./poke.js";

// check decodes an L2 table once and replays it for every other L1 table pointing at it: on
// images whose snapshots share tables (with and without a poked entry), the answer must still be
// qemu-img check's, problem for problem.
const skip = qemuOrSkipReason();
const dir = mkdtempSync(join(tmpdir(), "qcow2-shared-l2-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sh = (cmd: string, args: string[]) =>
  execFileSync(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });

/** 8 MiB, 4 KiB clusters (4 L2 tables), writes and snapshots interleaved, some tables shared by all. */
function build(name: string): string {
  const file = join(dir, name);
  sh("qemu-img", ["create", "-q", "-f", "qcow2", "-o", "cluster_size=4096", file, "8M"]);
  for (let i = 1; i <= 6; i++) {
    sh("qemu-io", [
      "-f",
      "qcow2",
      "-c",
      `write -q -P ${i} ${(i % 3) * 2 * 2 ** 20 + i * 8192} 4k`,
      file,
    ]);
    sh("qemu-img", ["snapshot", "-c", `s${i}`, file]);
  }
  return file;
}

function qemuCheck(file: string): { json: Record<string, unknown>; exit: number; stdout: string } {
  const r = spawnSync("qemu-img", ["check", "--output=json", file], { encoding: "utf8" });
  const human = spawnSync("qemu-img", ["check", file], { encoding: "utf8" });
  return {
    json: JSON.parse(r.stdout),
    exit: r.status ?? -1,
    stdout: `${human.stdout}${human.stderr}`,
  };
}

async function ours(file: string) {
  const source = await openFileSource(file);
  try {
    return await check(source);
  } finally {
    await source.close();
  }
}

/**
 * The image's bytes, and the first snapshot's first allocated L2 table (which later snapshots
 * still point at) with its first non-zero entry.
 */
async function sharedEntry(file: string) {
  const bytes = new Uint8Array(readFileSync(file));
  const source = memorySource(bytes, file);
  const info = await inspect(source);
  const { snapshots } = await readSnapshots(source, info);
  const view = new DataView(bytes.buffer);
  const l1 = snapshots[0]?.l1TableOffset as number;
  let l2 = 0;
  for (let i = 0; l2 === 0; i++) l2 = Number(view.getBigUint64(l1 + i * 8) & 0x00fffffffffffe00n);
  let entry = l2;
  while (view.getBigUint64(entry) === 0n) entry += 8;
  return { bytes, view, info, snapshots, l2, entry };
}

describe.skipIf(skip !== undefined)("check on L2 tables shared by snapshots", () => {
  it("an image whose snapshots share L2 tables checks exactly as qemu-img check", async () => {
    const file = build("shared.qcow2");
    const qemu = qemuCheck(file);
    const report = await ours(file);
    const json: Record<string, unknown> = { ...toQemuCheckJson(report, file) };
    expect(json).toEqual(qemu.json);
    expect(qemuCheckExitCode(report)).toBe(qemu.exit);
  });

  it("a reserved bit in a shared L2 entry is reported once per L1 table that points at it, as qemu-img does", async () => {
    const file = build("poked.qcow2");
    const { bytes, view, entry } = await sharedEntry(file);
    poke(bytes, entry, 1, view.getUint8(entry) | 0x01); // bit 56: reserved in a standard L2 entry
    writeFileSync(file, bytes);

    const qemu = qemuCheck(file);
    const report = await ours(file);
    const json: Record<string, unknown> = { ...toQemuCheckJson(report, file) };
    expect(json).toEqual(qemu.json);
    expect(qemuCheckExitCode(report)).toBe(qemu.exit);
    const qemuLines = qemu.stdout.split("\n").filter((l) => l.includes("reserved bits set"));
    const ourLines = report.problems
      .filter((p) => p.kind === "reserved-bits")
      .map((p) => p.message);
    expect(qemuLines.length).toBeGreaterThan(1);
    expect(ourLines).toEqual(qemuLines.map((l) => l.trim()));
  });
  it("a shared L2 entry pointing into metadata raises its overlap once per L1 table that points at the table", async () => {
    const file = build("overlap.qcow2");
    const { bytes, view, info, snapshots, l2, entry } = await sharedEntry(file);
    // The entry now maps the active L1 table's cluster, as data.
    view.setBigUint64(entry, BigInt(info.l1TableOffset));
    writeFileSync(file, bytes);
    // Every L1 table (active and snapshots') with an entry pointing at that L2 table.
    const tables = [
      { at: info.l1TableOffset, size: info.l1Size },
      ...snapshots.map((s) => ({ at: s.l1TableOffset, size: s.l1Size })),
    ];
    const pointing = tables.filter(({ at, size }) =>
      Array.from(
        { length: size },
        (_, i) => Number(view.getBigUint64(at + i * 8) & 0x00fffffffffffe00n) === l2,
      ).some(Boolean),
    ).length;
    expect(pointing).toBeGreaterThan(2);

    const qemu = qemuCheck(file);
    const report = await ours(file);
    expect({ ...toQemuCheckJson(report, file) }).toEqual(qemu.json);
    const overlaps = report.problems.filter(
      (p) => p.kind === "overlap" && p.hostOffset === info.l1TableOffset,
    );
    expect(overlaps.length).toBe(pointing);
  });

  it("an OFLAG_COPIED mismatch in an active L2 table is reported as qemu-img reports it", async () => {
    const file = join(dir, "copied.qcow2");
    sh("qemu-img", ["create", "-q", "-f", "qcow2", "-o", "cluster_size=4096", file, "8M"]);
    sh("qemu-io", ["-f", "qcow2", "-c", "write -q -P 7 0 64k", "-c", "write -q -P 8 4M 8k", file]);
    const bytes = new Uint8Array(readFileSync(file));
    const source = memorySource(bytes, "copied.qcow2");
    const info = await inspect(source);
    const view = new DataView(bytes.buffer);
    const l2 = Number(view.getBigUint64(info.l1TableOffset) & 0x00fffffffffffe00n);
    // Clear OFLAG_COPIED (bit 63) of the table's third entry: its refcount is still 1.
    poke(bytes, l2 + 16, 1, view.getUint8(l2 + 16) & 0x7f);
    writeFileSync(file, bytes);

    const qemu = qemuCheck(file);
    const report = await ours(file);
    const json: Record<string, unknown> = { ...toQemuCheckJson(report, file) };
    expect(json).toEqual(qemu.json);
    const qemuLines = qemu.stdout
      .split("\n")
      .filter((l) => l.includes("OFLAG_COPIED"))
      .map((l) => l.trim());
    expect(qemuLines.length).toBe(1);
    expect(report.problems.filter((p) => p.kind === "copied-flag").map((p) => p.message)).toEqual(
      qemuLines,
    );
  });
});
