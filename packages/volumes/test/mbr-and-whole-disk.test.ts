import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  fileDisk,
  MiB,
  removeDir,
  run,
  sparseFile,
  tempDir,
  toolsOrSkipReason,
} from "../../../fixtures/harness/guest.js";
import { buildDisk, hibernatedSwap, mbrLogical } from "../../../fixtures/harness/guest-disks.js";
import { readVolumes, type VolumeLayout } from "../src/index.js";
import { expectSignaturesMatchBlkid, expectTableMatchesSfdisk } from "./reference/compare.js";

const skip = toolsOrSkipReason([
  "sfdisk",
  "blkid",
  "mkfs.vfat",
  "mkfs.ext4",
  "mkfs.xfs",
  "mkfs.btrfs",
  "mkntfs",
  "mkfs.exfat",
  "mkswap",
  "cryptsetup",
]);

async function layoutOf(path: string): Promise<VolumeLayout> {
  const disk = fileDisk(path);
  try {
    return await readVolumes(disk);
  } finally {
    disk.close();
  }
}

describe.skipIf(skip !== undefined)("MBR with an extended partition and logical partitions", () => {
  let dir = "";
  let raw = "";
  let layout: VolumeLayout;
  beforeAll(async () => {
    dir = tempDir("mbr");
    raw = buildDisk(`${dir}/mbr.raw`, "dos", 96, mbrLogical());
    layout = await layoutOf(raw);
  });
  afterAll(() => removeDir(dir));

  it("lists primaries, the extended container and the logicals as sfdisk does", () => {
    expectTableMatchesSfdisk(raw, layout);
    expect(layout.partitions.map((p) => p.kind)).toEqual([
      "primary",
      "primary",
      "extended",
      "logical",
      "logical",
      "logical",
      "logical",
    ]);
  });

  it("reports each partition's signature as blkid does", () => {
    expectSignaturesMatchBlkid(raw, layout);
  });

  it("records every EBR of the chain", () => {
    expect(layout.mbr?.ebrOffsets).toHaveLength(4);
    expect(layout.problems).toEqual([]);
  });
});

// A disk without a partition table: the filesystem made on the whole disk.
const WHOLE: Array<[string, number, (f: string) => void]> = [
  ["ext4", 64, (f) => run("mkfs.ext4", ["-q", "-F", "-L", "whole", f])],
  ["vfat", 64, (f) => run("mkfs.vfat", ["-n", "SUPERFLOPPY", f])],
  ["exfat", 64, (f) => run("mkfs.exfat", ["-L", "whole", f])],
  ["ntfs", 64, (f) => run("mkntfs", ["-q", "-F", "-Q", "-L", "whole", f])],
  ["xfs", 300, (f) => run("mkfs.xfs", ["-q", "-f", "-L", "whole", f])],
  ["btrfs", 128, (f) => run("mkfs.btrfs", ["-q", "-f", "-L", "whole", f])],
  ["swap", 64, (f) => run("mkswap", ["-L", "whole", f])],
  ["swsuspend", 64, hibernatedSwap("whole")],
];

describe.skipIf(skip !== undefined)("disk without a partition table", () => {
  let dir = "";
  beforeAll(() => {
    dir = tempDir("whole");
  });
  afterAll(() => removeDir(dir));

  it.each(WHOLE)(
    "%s on the whole disk is reported as sfdisk and blkid see it",
    async (type, mib, make) => {
      const raw = sparseFile(`${dir}/${type}.raw`, mib * MiB);
      make(raw);
      const layout = await layoutOf(raw);
      expectTableMatchesSfdisk(raw, layout);
      expectSignaturesMatchBlkid(raw, layout);
      expect(layout.filesystem?.type).toBe(type);
      expect(layout.partitions).toEqual([]);
    },
  );

  it("an all-zero disk has no table and no filesystem", async () => {
    const raw = sparseFile(`${dir}/zero.raw`, 8 * MiB);
    const layout = await layoutOf(raw);
    expect(layout).toMatchObject({
      scheme: "none",
      filesystem: null,
      partitions: [],
      problems: [],
    });
  });
});
