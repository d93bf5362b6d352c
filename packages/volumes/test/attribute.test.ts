import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  fileDisk,
  MiB,
  removeDir,
  run,
  sfdisk,
  sfdiskJson,
  sparseFile,
  tempDir,
  toolsOrSkipReason,
} from "../../../fixtures/harness/guest.js";
import {
  attributeExtents,
  describeAttribution,
  readVolumes,
  unaccounted,
  type VolumeLayout,
} from "../src/index.js";

// Attribution of changed guest extents (what `diff` hands over) to partitions, on an MBR disk
// sfdisk made; the partitions' places come from sfdisk --json, not from the code under test.
const skip = toolsOrSkipReason(["sfdisk", "mkfs.ext4"]);

describe.skipIf(skip !== undefined)("attributing extents to partitions", () => {
  let dir = "";
  let layout: VolumeLayout;
  let part: Record<string, { start: number; end: number }> = {};
  beforeAll(async () => {
    dir = tempDir("attr");
    const raw = sparseFile(`${dir}/a.raw`, 32 * MiB);
    sfdisk(raw, "label: dos\nsize=8M, type=83\nsize=4M, type=83\ntype=5\nsize=4M\nsize=4M\n");
    const table = sfdiskJson(raw);
    part = Object.fromEntries(
      (table?.partitions ?? []).map((p) => [
        p.node.slice(-1),
        { start: p.start * 512, end: (p.start + p.size) * 512 },
      ]),
    );
    run("mkfs.ext4", ["-q", "-F", "-L", "root", "-E", `offset=${part["1"]?.start}`, raw, "8M"]);
    const disk = fileDisk(raw);
    layout = await readVolumes(disk);
    disk.close();
  });
  afterAll(() => removeDir(dir));

  it("splits an extent across two partitions and counts what lies in none", () => {
    const p1 = part["1"] as { start: number; end: number };
    const p2 = part["2"] as { start: number; end: number };
    const a = attributeExtents(layout, [
      { start: p1.end - 4096, length: 8192 }, // 4 KiB in partition 1, 4 KiB in partition 2
      { start: 0, length: 512 }, // the MBR: in no partition
      { start: p2.start + 512, length: 512 },
    ]);
    expect(a.total).toEqual({ extents: 3, bytes: 9216 });
    expect(a.outside).toEqual({ extents: 1, bytes: 512 });
    expect(a.partitions.map((s) => [s.number, s.extents, s.bytes])).toEqual([
      [1, 1, 4096],
      [2, 2, 4608],
    ]);
    expect(a.partitions[0]?.filesystem).toMatchObject({ type: "ext4", label: "root" });
    expect(describeAttribution(a)).toEqual([
      "1 extent, 4.0 KiB in partition 1 (ext4 `root`)",
      "2 extents, 4.5 KiB in partition 2 (no filesystem)",
      "1 extent, 512 bytes outside any partition",
    ]);
  });

  it("gives a logical partition its bytes, and the extended partition its EBR sectors", () => {
    const p3 = part["3"] as { start: number; end: number };
    const p5 = part["5"] as { start: number; end: number };
    const a = attributeExtents(layout, [
      { start: p3.start, length: 512 }, // the first EBR
      { start: p5.start, length: 4096 },
    ]);
    expect(a.partitions.map((s) => [s.number, s.kind, s.bytes])).toEqual([
      [3, "extended", 512],
      [5, "logical", 4096],
    ]);
    expect(a.outside.bytes).toBe(0);
  });

  it("finds the allocated bytes no partition or table accounts for", () => {
    const p1 = part["1"] as { start: number; end: number };
    const gap = unaccounted(layout, [{ start: 0, length: p1.start + 4096 }]);
    // The MBR sector is the table's; the rest of the first MiB is the alignment gap.
    expect(gap).toEqual([{ start: 512, length: p1.start - 512 }]);
  });
});
