import { describe, expect, it } from "vitest";
import { loadFixtureSet } from "../../../fixtures/harness/index.js";
import { inspect, memorySource, Qcow2Image, readSnapshots } from "../src/index.js";
import { openImage } from "../src/node.js";
import { fixtureBytes, poke } from "./poke.js";

// Counterparts of the seed core crate's tests, on real qemu-img images with one
// field poked instead of hand-built headers.
const set = loadFixtureSet();
const CLUSTER_BITS = 20;
const L1_SIZE = 36;
const CRYPT_METHOD = 32;
const NB_SNAPSHOTS = 60;
const INCOMPATIBLE = 72;
const BACKING_OFFSET = 8;
const BACKING_SIZE = 16;

describe("inspect (lenient)", () => {
  it("reports a clean image", async () => {
    const info = await inspect(memorySource(fixtureBytes("clean-v3")));
    const qemu = set.answerJson<{ "virtual-size": number }>("clean-v3", "info.json");
    expect(info.version).toBe(3);
    expect(info.hasBackingFile).toBe(false);
    expect(info.encryptionMethod).toBe(0);
    expect(info.snapshotCount).toBe(0);
    expect(info.incompatibleFeatures.bits).toEqual([]);
    expect(info.virtualSize).toBe(qemu?.["virtual-size"]);
    expect(info.problems).toEqual([]);
  });

  it("reports backing file, encryption, snapshots and feature bits it would not read", async () => {
    const bytes = fixtureBytes("clean-v3");
    const name = new TextEncoder().encode("base.img");
    bytes.set(name, 0x800);
    poke(bytes, BACKING_OFFSET, 8, 0x800);
    poke(bytes, BACKING_SIZE, 4, name.length);
    poke(bytes, CRYPT_METHOD, 4, 1);
    poke(bytes, NB_SNAPSHOTS, 4, 3);
    poke(bytes, INCOMPATIBLE, 8, 0b11n | (1n << 33n));
    const info = await inspect(memorySource(bytes));
    expect(info.backingFile?.name).toBe("base.img");
    expect(info.encryption).toBe("aes");
    expect(info.snapshotCount).toBe(3);
    expect(info.incompatibleFeatures.names).toEqual(["dirty", "corrupt"]);
    expect(info.incompatibleFeatures.unknownBits).toEqual([33]);
  });

  it("reports a huge 64-bit field exactly instead of wrapping it", async () => {
    const bytes = poke(fixtureBytes("clean-v3"), 24, 8, 0xffff_ffff_ffff_fff0n);
    const info = await inspect(memorySource(bytes));
    expect(info.virtualSize).toBeNaN();
    expect(info.outOfRange).toEqual([{ field: "size", value: "18446744073709551600" }]);
    // QEMU refuses it too: the L1 table this size needs cannot exist.
    await expect(Qcow2Image.open(memorySource(bytes))).rejects.toMatchObject({
      code: "LIMIT_EXCEEDED",
      message: "Image is too big",
    });
  });

  it("rejects a non-QCOW2 file", async () => {
    await expect(inspect(memorySource(fixtureBytes("text")))).rejects.toMatchObject({
      code: expect.stringMatching(/BAD_MAGIC|FILE_TOO_SMALL/),
    });
  });
});

describe("reader refuses impossible geometry with typed errors", () => {
  for (const bits of [200, 0, 2, 8, 22]) {
    it(`cluster_bits ${bits}`, async () => {
      const bytes = poke(fixtureBytes("clean-v3"), CLUSTER_BITS, 4, bits);
      await expect(Qcow2Image.open(memorySource(bytes))).rejects.toMatchObject({
        code: "CLUSTER_BITS_OUT_OF_RANGE",
      });
    });
  }

  it("an L1 table larger than QEMU allows", async () => {
    const bytes = poke(fixtureBytes("clean-v3"), L1_SIZE, 4, 0x0100_0000);
    await expect(Qcow2Image.open(memorySource(bytes))).rejects.toMatchObject({
      code: "L1_TOO_LARGE",
    });
  });

  it("an L1 table too small for the virtual size", async () => {
    const bytes = poke(fixtureBytes("cluster-512"), L1_SIZE, 4, 0);
    await expect(Qcow2Image.open(memorySource(bytes))).rejects.toMatchObject({
      code: "INVALID_STRUCTURE",
    });
  });

  it("an unknown snapshot", async () => {
    const entry = set.entries.find((e) => e.name === "snapshots");
    await expect(openImage(set.path(entry as never), { snapshot: "nope" })).rejects.toMatchObject({
      code: "SNAPSHOT_NOT_FOUND",
    });
  });
});

describe("reader random access", () => {
  for (const name of ["clean-v3", "compressed-zlib", "cluster-512", "zero-clusters", "snapshots"]) {
    it(`${name}: any range equals the same slice of the whole disk`, async () => {
      const image = await Qcow2Image.open(memorySource(fixtureBytes(name)));
      const whole = Buffer.from(await image.read(0, image.virtualSize));
      let seed = 7;
      const next = (n: number) => {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        return seed % n;
      };
      for (let i = 0; i < 200; i++) {
        const offset = next(image.virtualSize);
        const length = next(Math.min(300_000, image.virtualSize - offset + 1));
        const got = Buffer.from(await image.read(offset, length));
        expect(got.equals(whole.subarray(offset, offset + length)), `${offset}+${length}`).toBe(
          true,
        );
      }
      expect((await image.read(image.virtualSize - 10, 100)).length).toBe(10);
    });
  }

  it("rejects a negative or non-integer range with a typed error", async () => {
    const image = await Qcow2Image.open(memorySource(fixtureBytes("clean-v3")));
    await expect(image.read(-1, 10)).rejects.toMatchObject({ code: "OUT_OF_RANGE" });
    await expect(image.read(0.5, 10)).rejects.toMatchObject({ code: "OUT_OF_RANGE" });
  });
});

describe("snapshot table", () => {
  it("a table cut short by end of file keeps the cut entry zero-filled and marks it partly past end of file", async () => {
    const bytes = fixtureBytes("snapshots");
    const info = await inspect(memorySource(bytes));
    const full = await readSnapshots(memorySource(bytes), info);
    const second = full.snapshots[1];
    expect(second).toBeDefined();
    // Cut the file in the middle of the second entry, as a truncated acquisition would.
    const cut = bytes.subarray(0, (second?.offset ?? 0) + 20);
    const table = await readSnapshots(memorySource(cut));
    expect(table.truncated).toBe(true);
    expect(table.expected).toBe(2);
    expect(table.snapshots.map((s) => s.pastEof)).toEqual(["none", "partly"]);
    expect(table.snapshots[0]?.name).toBe(full.snapshots[0]?.name);
    // The 20 bytes that survive (L1 offset and size, string sizes, date) are read as QEMU reads them.
    expect(table.snapshots[1]?.l1TableOffset).toBe(second?.l1TableOffset);
    expect(table.snapshots[1]?.dateSec).toBe(second?.dateSec);
  });

  it("a count beyond the table reports truncation, not a crash", async () => {
    const bytes = poke(fixtureBytes("snapshots"), NB_SNAPSHOTS, 4, 0xffff_ffff);
    const table = await readSnapshots(memorySource(bytes));
    expect(table.truncated).toBe(true);
    expect(table.snapshots.length).toBeGreaterThanOrEqual(2);
  });
});
