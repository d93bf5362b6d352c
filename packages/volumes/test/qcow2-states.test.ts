import { execFileSync } from "node:child_process";
import { openImage } from "@x/qcow2-core/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  fileDisk,
  removeDir,
  run,
  tempDir,
  toolsOrSkipReason,
  toQcow2,
} from "../../../fixtures/harness/guest.js";
import { PASSPHRASE, stateDisks } from "../../../fixtures/harness/guest-disks.js";
import {
  compareBootCode,
  compareLayouts,
  type GuestDisk,
  readVolumes,
  type VolumeLayout,
} from "../src/index.js";
import {
  expectSameLayout,
  expectSignaturesMatchBlkid,
  expectTableMatchesSfdisk,
} from "./reference/compare.js";

// The same guest disks read through QCOW2: the active disk, an internal snapshot taken before
// the disk was repartitioned, an overlay on a backing file, and a LUKS-encrypted image. Each
// state must read exactly as its raw disk does (graded there by sfdisk and blkid).
const skip = toolsOrSkipReason([
  "qemu-img",
  "qemu-io",
  "sfdisk",
  "blkid",
  "mkfs.vfat",
  "mkfs.ext4",
  "mkswap",
  "cryptsetup",
]);

async function layoutOfRaw(path: string): Promise<VolumeLayout> {
  const disk = fileDisk(path);
  try {
    return await readVolumes(disk);
  } finally {
    disk.close();
  }
}

async function layoutOfImage(
  path: string,
  options: Parameters<typeof openImage>[1] = {},
): Promise<VolumeLayout> {
  const image = await openImage(path, options);
  try {
    const disk: GuestDisk = image;
    return await readVolumes(disk);
  } finally {
    await image.close();
  }
}

/** qemu-img's PBKDF timing can fail on fast CPUs ("Unable to get accurate CPU usage"): retried, as the core suites do. */
function qemuImgRetrying(args: string[]): void {
  for (let attempt = 0; ; attempt++) {
    try {
      execFileSync("qemu-img", args, { stdio: "pipe" });
      return;
    } catch (e) {
      const stderr = String((e as { stderr?: Buffer }).stderr ?? "");
      if (!stderr.includes("Unable to get accurate CPU usage") || attempt >= 40) throw e;
    }
  }
}

describe.skipIf(skip !== undefined)("guest volumes through QCOW2 states", () => {
  let dir = "";
  let a = "";
  let b = "";
  let rawA: VolumeLayout;
  let rawB: VolumeLayout;
  let img = "";
  beforeAll(async () => {
    dir = tempDir("states");
    ({ a, b } = stateDisks(dir));
    rawA = await layoutOfRaw(a);
    rawB = await layoutOfRaw(b);
    // An image of A, a snapshot "before", then the whole of B written over it.
    img = toQcow2(a, `${dir}/disk.qcow2`);
    run("qemu-img", ["snapshot", "-c", "before", img]);
    run("qemu-io", ["-f", "qcow2", "-c", `write -s ${b} 0 64M`, img]);
  });
  afterAll(() => removeDir(dir));

  it("both raw disks read as sfdisk and blkid see them", () => {
    for (const [raw, layout] of [
      [a, rawA],
      [b, rawB],
    ] as const) {
      expectTableMatchesSfdisk(raw, layout);
      expectSignaturesMatchBlkid(raw, layout);
    }
  });

  it("the active disk reads as the raw disk written last", async () => {
    expectSameLayout(await layoutOfImage(img), rawB);
  });

  it("reads under 160 KiB of the guest disk through QCOW2", async () => {
    const image = await openImage(img);
    let asked = 0;
    const counting: GuestDisk = {
      size: image.size,
      read: (offset, length) => {
        asked += length;
        return image.read(offset, length);
      },
    };
    try {
      await readVolumes(counting);
    } finally {
      await image.close();
    }
    expect(asked).toBeGreaterThan(0);
    expect(asked).toBeLessThan(160 * 1024);
  });

  it("the snapshot reads as the raw disk it was taken of", async () => {
    expectSameLayout(await layoutOfImage(img, { snapshot: "before" }), rawA);
  });

  it("the repartitioning and the new boot code show between snapshot and active disk", async () => {
    const before = await layoutOfImage(img, { snapshot: "before" });
    const after = await layoutOfImage(img);
    expect(compareLayouts(before, after).map((c) => c.kind)).toContain("scheme");
    expect(compareBootCode(before, after).map((c) => c.what)).toContain("MBR boot code");
    expect(compareLayouts(after, after)).toEqual([]);
    expect(compareBootCode(after, after)).toEqual([]);
  });

  it("an overlay reads its backing file's disk, and its own writes over it", async () => {
    const base = toQcow2(a, `${dir}/base.qcow2`);
    const overlay = `${dir}/overlay.qcow2`;
    run("qemu-img", ["create", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", overlay]);
    expectSameLayout(await layoutOfImage(overlay), rawA);
    run("qemu-io", ["-f", "qcow2", "-c", `write -s ${b} 0 64M`, overlay]);
    expectSameLayout(await layoutOfImage(overlay), rawB);
    expectSameLayout(await layoutOfImage(base), rawA);
  });

  it("a LUKS-encrypted image reads with its passphrase", async () => {
    const enc = `${dir}/enc.qcow2`;
    qemuImgRetrying([
      "convert",
      "--object",
      `secret,id=sec0,data=${PASSPHRASE}`,
      "-f",
      "raw",
      "-O",
      "qcow2",
      "-o",
      "encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=10",
      a,
      enc,
    ]);
    const layout = await layoutOfImage(enc, { passphrase: new TextEncoder().encode(PASSPHRASE) });
    expectSameLayout(layout, rawA);
  });
});
