import { closeSync, openSync, readSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  fileDisk,
  MiB,
  poke,
  removeDir,
  run,
  sfdisk,
  sparseFile,
  tempDir,
  toolsOrSkipReason,
} from "../../../fixtures/harness/guest.js";
import { GPT } from "../../../fixtures/harness/guest-disks.js";
import { crc32 } from "../src/crc32.js";
import { readVolumes, type VolumeLayout } from "../src/index.js";
import { expectTableMatchesSfdisk } from "./reference/compare.js";

// Tables made by sfdisk, then poked into what hostile evidence looks like. Every case must end
// in problems (never a throw, a hang or a read of the whole disk); where sfdisk can list the
// result, the listing must still equal sfdisk's.
const skip = toolsOrSkipReason(["sfdisk"]);
const SIZE = 32 * MiB;
const codes = (l: VolumeLayout) => l.problems.map((p) => p.code);

function readAt(path: string, offset: number, length: number): Buffer {
  const b = Buffer.alloc(length);
  const fd = openSync(path, "r");
  readSync(fd, b, 0, length, offset);
  closeSync(fd);
  return b;
}

const le32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};

async function layoutOf(path: string): Promise<{ layout: VolumeLayout; asked: number }> {
  const disk = fileDisk(path);
  try {
    const layout = await readVolumes(disk);
    return { layout, asked: disk.bytesAsked };
  } finally {
    disk.close();
  }
}

/** Rewrites a GPT header's CRC after a poke (the array CRC first when `array` is given). */
function resealGpt(
  path: string,
  headerLba: number,
  arrayLba?: number,
  arrayBytes = 128 * 128,
): void {
  if (arrayLba !== undefined)
    poke(path, headerLba * 512 + 88, le32(crc32(readAt(path, arrayLba * 512, arrayBytes))));
  const header = readAt(path, headerLba * 512, 92);
  header.fill(0, 16, 20);
  poke(path, headerLba * 512 + 16, le32(crc32(header)));
}

describe.skipIf(skip !== undefined)("hostile partition tables", () => {
  let dir = "";
  let mbr = "";
  let gpt = "";
  beforeAll(() => {
    dir = tempDir("hostile");
    mbr = sparseFile(`${dir}/mbr.raw`, SIZE);
    sfdisk(
      mbr,
      "label: dos\nsize=8M, type=83\nsize=8M, type=83\ntype=5\nsize=4M\nsize=4M\nsize=4M\n",
    );
    gpt = sparseFile(`${dir}/gpt.raw`, SIZE);
    sfdisk(gpt, `label: gpt\nsize=8M, type=${GPT.linux}\nsize=8M, type=${GPT.linux}\n`);
  });
  afterAll(() => removeDir(dir));

  const variant = (base: string, name: string, damage: (f: string) => void) => {
    const f = `${dir}/${name}.raw`;
    run("cp", ["--sparse=always", base, f]);
    damage(f);
    return f;
  };

  it("an extended chain that loops back to its first EBR stops at the loop", async () => {
    const { layout: clean } = await layoutOf(mbr);
    const ebrs = clean.mbr?.ebrOffsets ?? [];
    const ext = clean.partitions.find((p) => p.kind === "extended");
    expect(ebrs).toHaveLength(3);
    // The last EBR's link entry, pointed back at the first EBR (relative start 0 = the extended partition's start).
    const f = variant(mbr, "loop", (x) =>
      poke(
        x,
        (ebrs[2] as number) + 446 + 16,
        Buffer.from([0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0]),
      ),
    );
    const { layout, asked } = await layoutOf(f);
    expect(codes(layout)).toContain("ebr-loop");
    expect(layout.partitions.map((p) => p.number)).toEqual([1, 2, 3, 5, 6, 7]);
    expect(ext?.start).toBe(ebrs[0]);
    expect(asked).toBeLessThan(256 * 1024);
  });

  it("an EBR that links to itself is read once", async () => {
    const { layout: clean } = await layoutOf(mbr);
    const first = clean.mbr?.ebrOffsets[0] as number;
    const f = variant(mbr, "self", (x) =>
      poke(x, first + 446 + 16, Buffer.from([0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0])),
    );
    const { layout } = await layoutOf(f);
    expect(codes(layout)).toContain("ebr-loop");
    expect(layout.mbr?.ebrOffsets).toEqual([first]);
  });

  it("a partition running past the end of the disk is listed as sfdisk lists it, and reported", async () => {
    const f = variant(mbr, "past-end", (x) => poke(x, 446 + 12, le32(0xfffffff0)));
    const { layout } = await layoutOf(f);
    expectTableMatchesSfdisk(f, layout);
    expect(codes(layout)).toContain("partition-past-end");
  });

  it("overlapping primary partitions are listed as sfdisk lists them, and reported", async () => {
    const start1 = readAt(mbr, 446 + 8, 4).readUInt32LE();
    const f = variant(mbr, "overlap", (x) => poke(x, 446 + 16 + 8, le32(start1 + 8)));
    const { layout } = await layoutOf(f);
    expectTableMatchesSfdisk(f, layout);
    expect(codes(layout)).toContain("partitions-overlap");
  });

  it("a logical partition outside its extended partition is reported", async () => {
    const { layout: clean } = await layoutOf(mbr);
    const first = clean.mbr?.ebrOffsets[0] as number;
    const f = variant(mbr, "logical-out", (x) => poke(x, first + 446 + 8, le32(0x100000)));
    const { layout } = await layoutOf(f);
    expect(codes(layout)).toContain("logical-outside-extended");
  });

  it("a GPT header claiming four million entries is refused without reading them", async () => {
    const f = variant(gpt, "millions", (x) => {
      for (const lba of [1, SIZE / 512 - 1]) {
        poke(x, lba * 512 + 80, le32(4_000_000));
        resealGpt(x, lba);
      }
    });
    const { layout, asked } = await layoutOf(f);
    expectTableMatchesSfdisk(f, layout);
    expect(layout.gpt).toBeNull();
    expect(codes(layout)).toContain("gpt-unreadable");
    expect(layout.problems.find((p) => p.code === "gpt-unreadable")?.message).toMatch(
      /not read beyond/,
    );
    expect(asked).toBeLessThan(256 * 1024);
  });

  it("a GPT entry beyond the usable range and the disk is listed as sfdisk lists it, and reported", async () => {
    const f = variant(gpt, "gpt-past-end", (x) => {
      const end = Buffer.alloc(8);
      end.writeBigUInt64LE(BigInt(SIZE / 512 + 1000));
      poke(x, 1024 + 40, end);
      resealGpt(x, 1, 2);
    });
    const { layout } = await layoutOf(f);
    expectTableMatchesSfdisk(f, layout);
    expect(codes(layout)).toEqual(
      expect.arrayContaining(["partition-outside-usable", "partition-past-end"]),
    );
  });

  it("a GPT entry whose LBAs no disk can hold is reported, not listed", async () => {
    const f = variant(gpt, "gpt-huge", (x) => {
      const start = Buffer.alloc(8);
      start.writeBigUInt64LE(1n << 62n);
      poke(x, 1024 + 128 + 32, start);
      poke(x, 1024 + 128 + 40, start);
      resealGpt(x, 1, 2);
    });
    const { layout } = await layoutOf(f);
    expect(layout.partitions.map((p) => p.number)).toEqual([1]);
    expect(codes(layout)).toContain("partition-out-of-range");
  });
});
