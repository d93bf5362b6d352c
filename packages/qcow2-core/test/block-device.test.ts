import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadFixtureSet } from "../../../fixtures/harness/index.js";
import {
  attachLoop,
  detachLoop,
  loopDevicesOrSkipReason,
} from "../../../fixtures/harness/loop-devices.js";
import { blockDeviceSize, sysfsBlockDeviceSize } from "../src/host/block-device-size.js";
import { EVIDENCE_OPEN_FLAGS, openFileSource, openImage } from "../src/node.js";

const skip = loopDevicesOrSkipReason();
const attached: string[] = [];
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

describe.skipIf(skip !== undefined)("a read-only loop device as evidence", () => {
  const dir = mkdtempSync(join(tmpdir(), "qcow2-loop-core-"));
  // Not a multiple of 4 KiB, nor a power of two: the size must be found, not guessed.
  const odd = join(dir, "odd.bin");
  let oddDevice = "";
  let imageDevice = "";
  const set = loadFixtureSet();
  const snapshots = set.entries.find((e) => e.name === "snapshots");
  const copy = join(dir, "snapshots.qcow2");

  beforeAll(() => {
    writeFileSync(odd, randomBytes(3 * 1024 * 1024 + 7 * 512));
    oddDevice = attachLoop(odd);
    attached.push(oddDevice);
    copyFileSync(set.path(snapshots as never), copy);
    imageDevice = attachLoop(copy);
    attached.push(imageDevice);
  });

  afterAll(() => {
    const failures = attached.map(detachLoop).filter((f) => f !== null);
    if (failures.length > 0) console.warn(failures.join("\n"));
  });

  it("the device's size from sysfs, from reads alone, and util-linux blockdev --getsize64 agree", async () => {
    const expected = Number(
      execFileSync("blockdev", ["--getsize64", oddDevice], { encoding: "utf8" }),
    );
    expect(expected).toBe(3 * 1024 * 1024 + 7 * 512);
    const handle = await open(oddDevice, EVIDENCE_OPEN_FLAGS);
    try {
      const { rdev } = await handle.stat({ bigint: true });
      expect(await sysfsBlockDeviceSize(rdev)).toBe(expected);
      // A sysfs root that does not exist: the size comes from probing the end by reads.
      expect(await blockDeviceSize(handle.fd, rdev, join(dir, "no-sysfs"))).toBe(expected);
    } finally {
      await handle.close();
    }
  });

  it("openFileSource reads the whole device, byte for byte the file's", async () => {
    const source = await openFileSource(oddDevice);
    try {
      expect(source.blockDevice).toBe(true);
      expect(source.size).toBe(3 * 1024 * 1024 + 7 * 512);
      expect(sha256(await source.read(0, source.size))).toBe(sha256(readFileSync(odd)));
      expect((await source.read(source.size - 10, 100)).length).toBe(10);
    } finally {
      await source.close();
    }
  });

  it("the guest disk read through the device equals the one read through the file", async () => {
    const fromDevice = await openImage(imageDevice);
    const fromFile = await openImage(copy);
    try {
      expect(fromDevice.virtualSize).toBe(fromFile.virtualSize);
      expect(sha256(await fromDevice.read(0, fromDevice.virtualSize))).toBe(
        sha256(await fromFile.read(0, fromFile.virtualSize)),
      );
    } finally {
      await fromDevice.close();
      await fromFile.close();
    }
  });
});
