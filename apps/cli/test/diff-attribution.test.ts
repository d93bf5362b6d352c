import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  blkidRaw,
  MiB,
  removeDir,
  run,
  type SfdiskTable,
  sfdiskJson,
  tempDir,
  toolsOrSkipReason,
  toQcow2,
} from "../../../fixtures/harness/guest.js";
import { buildDisk, mbrLogical, stateDisks } from "../../../fixtures/harness/guest-disks.js";
import { runCli } from "./run-cli.js";

// `diff` names the partitions and filesystems its changed extents fall in. The truth comes from
// the reference tools: the changed sectors from qemu-img convert of both states, the partitions
// from sfdisk --json of the later state, the filesystems from blkid -p on each partition.
const skip = toolsOrSkipReason([
  "qemu-img",
  "qemu-io",
  "sfdisk",
  "blkid",
  "mkfs.vfat",
  "mkfs.ext4",
  "mkswap",
  "mkntfs",
  "mkfs.exfat",
  "cryptsetup",
]);

interface Share {
  number: number;
  kind: string;
  start: number;
  length: number;
  type: string;
  filesystem: { type: string; label: string | null; uuid: string | null } | null;
  extents: number;
  bytes: number;
}
interface AttributionJson {
  scheme: string;
  tableChanged: boolean;
  partitions: Share[];
  outside: { extents: number; bytes: number };
  total: { extents: number; bytes: number };
}

/** Changed 512-byte sector runs between two raw exports, coalesced. */
function changedRuns(a: string, b: string): Array<{ start: number; length: number }> {
  const x = readFileSync(a);
  const y = readFileSync(b);
  expect(x.length).toBe(y.length);
  const runs: Array<{ start: number; length: number }> = [];
  for (let at = 0; at < x.length; at += 512) {
    if (x.subarray(at, at + 512).equals(y.subarray(at, at + 512))) continue;
    const last = runs[runs.length - 1];
    if (last !== undefined && last.start + last.length === at) last.length += 512;
    else runs.push({ start: at, length: 512 });
  }
  return runs;
}

/** What each partition of sfdisk's table should receive, from the changed runs. */
function expectedShares(
  table: SfdiskTable,
  runs: Array<{ start: number; length: number }>,
): { shares: Map<number, { extents: number; bytes: number }>; outside: number } {
  const parts = (table.partitions ?? []).map((p) => ({
    number: Number(/(\d+)$/.exec(p.node)?.[1]),
    start: p.start * 512,
    end: (p.start + p.size) * 512,
    extended: table.label === "dos" && ["5", "f", "85"].includes(p.type),
  }));
  const shares = new Map<number, { extents: number; bytes: number }>();
  let outside = 0;
  for (const r of runs) {
    // Byte by sector: the owner of each changed sector (a logical partition before its extended one).
    const touched = new Map<number, number>();
    for (let at = r.start; at < r.start + r.length; at += 512) {
      const owner =
        parts.find((p) => !p.extended && at >= p.start && at < p.end) ??
        parts.find((p) => p.extended && at >= p.start && at < p.end);
      if (owner === undefined) outside += 512;
      else touched.set(owner.number, (touched.get(owner.number) ?? 0) + 512);
    }
    for (const [n, bytes] of touched) {
      const s = shares.get(n) ?? { extents: 0, bytes: 0 };
      s.extents++;
      s.bytes += bytes;
      shares.set(n, s);
    }
  }
  return { shares, outside };
}

/** A fixed-seed generator: the writes are the same on every run. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe.skipIf(skip !== undefined)("diff attributes changes to partitions and filesystems", () => {
  let dir = "";
  beforeAll(() => {
    dir = tempDir("cli-diff-attribution");
  });
  afterAll(() => removeDir(dir));

  it("MBR with logical partitions: per partition, as sfdisk and blkid see the later state", async () => {
    const raw = buildDisk(join(dir, "mbr.raw"), "dos", 96, mbrLogical());
    const img = toQcow2(raw, join(dir, "mbr.qcow2"));
    run("qemu-img", ["snapshot", "-c", "before", img]);
    const table = sfdiskJson(raw) as SfdiskTable;
    const extended = (table.partitions ?? []).find((p) => p.type === "5");
    expect(extended).toBeDefined();
    const random = lcg(14);
    const writes = [
      // The gap after the MBR, the extended partition's own first EBR track, and the disk's last sector.
      `write -P 17 ${64 * 512} 4096`,
      `write -P 18 ${(extended?.start ?? 0) * 512 + 1024} 512`,
      `write -P 19 ${96 * MiB - 512} 512`,
    ];
    for (let i = 0; i < 14; i++) {
      const at = Math.floor((random() * (96 * MiB - 300_000)) / 512) * 512;
      const length = (1 + Math.floor(random() * 500)) * 512;
      writes.push(`write -P ${20 + i} ${at} ${length}`);
    }
    run("qemu-io", ["-f", "qcow2", ...writes.flatMap((w) => ["-c", w]), img]);
    run("qemu-img", [
      "convert",
      "-l",
      "snapshot.name=before",
      "-O",
      "raw",
      img,
      join(dir, "s.raw"),
    ]);
    run("qemu-img", ["convert", "-O", "raw", img, join(dir, "a.raw")]);
    const runs = changedRuns(join(dir, "s.raw"), join(dir, "a.raw"));
    const later = sfdiskJson(join(dir, "a.raw")) as SfdiskTable;
    const truth = expectedShares(later, runs);

    const r = await runCli(["diff", "--json", "-q", img]);
    expect(r.code, r.stderr).toBe(1);
    const json = JSON.parse(r.stdout) as { attribution: AttributionJson; extentCount: number };
    const a = json.attribution;
    expect(a.scheme).toBe("mbr"); // sfdisk's "dos" label
    expect(a.tableChanged).toBe(false);
    expect(a.total).toEqual({
      extents: runs.length,
      bytes: runs.reduce((n, r) => n + r.length, 0),
    });
    expect(a.outside.bytes).toBe(truth.outside);
    expect(
      new Map(a.partitions.map((s) => [s.number, { extents: s.extents, bytes: s.bytes }])),
    ).toEqual(truth.shares);
    // Each share's partition and filesystem as sfdisk and blkid name them.
    for (const s of a.partitions) {
      const p = (later.partitions ?? []).find((q) => q.node.endsWith(String(s.number)));
      expect(p, `partition ${s.number}`).toBeDefined();
      expect(s.start).toBe((p?.start ?? 0) * 512);
      expect(s.length).toBe((p?.size ?? 0) * 512);
      expect(s.type).toBe(p?.type);
      if (s.kind === "extended") continue;
      const tags = blkidRaw(join(dir, "a.raw"), s.start, s.length);
      expect(s.filesystem?.type ?? null).toBe(tags.TYPE?.toString("utf8") ?? null);
      expect(s.filesystem?.label ?? null).toBe(tags.LABEL?.toString("utf8") ?? null);
    }
    // The writes reached logical partitions and the extended partition's own sectors.
    expect(a.partitions.some((s) => s.number >= 5)).toBe(true);
    expect(a.partitions.some((s) => s.kind === "extended")).toBe(true);

    const text = await runCli(["diff", "-q", img]);
    const where = text.stdout.split("\n").filter((l) => /^(where: +| {11})\d/.test(l));
    expect(where.length).toBe(a.partitions.length + (a.outside.bytes > 0 ? 1 : 0));
    // Every logical partition of mbrLogical() is labelled, and the seeded writes reach at least one.
    const logical = a.partitions.find((s) => s.number >= 5 && s.filesystem?.label);
    expect(logical).toBeDefined();
    if (logical !== undefined)
      expect(text.stdout).toContain(
        `in partition ${logical.number} (${logical.filesystem?.type} \`${logical.filesystem?.label}\`)`,
      );

    // --metadata-only reads no guest data, so it names no partition.
    const meta = await runCli(["diff", "--json", "-q", "--metadata-only", img]);
    expect(JSON.parse(meta.stdout).attribution).toBeUndefined();
  }, 300_000);

  it("a disk repartitioned between the snapshot and now says its table changed", async () => {
    const { a, b } = stateDisks(dir);
    const img = toQcow2(a, join(dir, "states.qcow2"));
    run("qemu-img", ["snapshot", "-c", "before", img]);
    run("qemu-io", ["-f", "qcow2", "-c", `write -s ${b} 0 64M`, img]);
    const r = await runCli(["diff", "--json", "-q", img]);
    const json = JSON.parse(r.stdout) as { attribution: AttributionJson };
    expect(json.attribution.scheme).toBe(
      (sfdiskJson(b) as SfdiskTable).label === "dos" ? "mbr" : "gpt",
    );
    expect(json.attribution.tableChanged).toBe(true);
    const text = await runCli(["diff", "-q", img]);
    expect(text.stdout).toContain("the partition table or a filesystem signature differs");
  }, 300_000);
});
