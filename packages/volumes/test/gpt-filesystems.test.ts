import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  fileDisk,
  removeDir,
  tempDir,
  toolsOrSkipReason,
} from "../../../fixtures/harness/guest.js";
import { buildDisk, gptZoo } from "../../../fixtures/harness/guest-disks.js";
import { readVolumes, type VolumeLayout } from "../src/index.js";
import { expectSignaturesMatchBlkid, expectTableMatchesSfdisk } from "./reference/compare.js";

// One GPT disk with every signature Debian's tools can make, one per partition,
// graded against sfdisk --json and blkid -p on the raw file.
const skip = toolsOrSkipReason([
  "sfdisk",
  "blkid",
  "mkfs.vfat",
  "mkfs.ext4",
  "mke2fs",
  "mkfs.xfs",
  "mkfs.btrfs",
  "mkntfs",
  "mkfs.exfat",
  "mkswap",
  "cryptsetup",
  "xorriso",
]);

describe.skipIf(skip !== undefined)("GPT disk with every filesystem Debian can make", () => {
  let dir = "";
  let raw = "";
  let layout: VolumeLayout;
  let asked = 0;
  const specs = gptZoo("");
  beforeAll(async () => {
    dir = tempDir("gpt");
    raw = buildDisk(`${dir}/zoo.raw`, "gpt", 660, gptZoo(dir));
    const disk = fileDisk(raw);
    layout = await readVolumes(disk);
    asked = disk.bytesAsked;
    disk.close();
  });
  afterAll(() => removeDir(dir));

  it("lists the partition table as sfdisk does", () => {
    expectTableMatchesSfdisk(raw, layout);
  });

  it("reports each partition's signature as blkid does", () => {
    expectSignaturesMatchBlkid(raw, layout);
  });

  it("finds the signature each partition was made with", () => {
    expect(layout.partitions.map((p) => p.filesystem?.type ?? null)).toEqual(
      specs.map((s) => s.expect),
    );
  });

  it("reads a few hundred KiB of the disk for all nineteen partitions", () => {
    // Counted by the disk wrapper, not by the reader itself.
    expect(asked).toBe(layout.bytesRead);
    expect(asked).toBeLessThan(320 * 1024);
  });

  it("has no problems on a clean disk", () => {
    expect(layout.problems).toEqual([]);
  });
});
