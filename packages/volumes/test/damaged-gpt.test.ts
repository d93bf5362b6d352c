import { readFileSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  fileDisk,
  MiB,
  placeAt,
  poke,
  removeDir,
  run,
  sfdisk,
  sparseFile,
  tempDir,
  toolsOrSkipReason,
} from "../../../fixtures/harness/guest.js";
import { GPT } from "../../../fixtures/harness/guest-disks.js";
import { readVolumes, type VolumeLayout } from "../src/index.js";
import { expectSignaturesMatchBlkid, expectTableMatchesSfdisk } from "./reference/compare.js";

// GPT disks written by sfdisk, then damaged the way disks get damaged: a byte of the
// primary header or entry array changed, the backup lost, the disk grown, the two
// copies taken from different partitionings. sfdisk's listing stays the oracle.
const skip = toolsOrSkipReason(["sfdisk", "blkid", "mkfs.ext4"]);
const SIZE = 64 * MiB;
const LAST = SIZE - 512;

const codes = (l: VolumeLayout) => l.problems.map((p) => p.code);

async function layoutOf(path: string): Promise<VolumeLayout> {
  const disk = fileDisk(path);
  try {
    return await readVolumes(disk);
  } finally {
    disk.close();
  }
}

describe.skipIf(skip !== undefined)("damaged and unusual GPT", () => {
  let dir = "";
  let clean = "";
  const script = `label: gpt\nsize=16M, type=${GPT.linux}, name="first"\nsize=16M, type=${GPT.basicData}, name="second"\n`;
  beforeAll(() => {
    dir = tempDir("gpt-damage");
    clean = sparseFile(`${dir}/clean.raw`, SIZE);
    sfdisk(clean, script);
    run("mkfs.ext4", ["-q", "-F", "-E", `offset=${MiB}`, clean, "16M"]);
  });
  afterAll(() => removeDir(dir));

  const variant = (name: string, damage: (f: string) => void) => {
    const f = `${dir}/${name}.raw`;
    run("cp", ["--sparse=always", clean, f]);
    damage(f);
    return f;
  };

  it("a clean disk reads its primary header, with no problem", async () => {
    const layout = await layoutOf(clean);
    expectTableMatchesSfdisk(clean, layout);
    expectSignaturesMatchBlkid(clean, layout);
    expect(layout.gpt?.used).toBe("primary");
    expect(layout.problems).toEqual([]);
  });

  it("a changed byte in the primary header falls back to the backup, as sfdisk does", async () => {
    const f = variant("primary-header", (x) => poke(x, 512 + 56, "\xff"));
    const layout = await layoutOf(f);
    expectTableMatchesSfdisk(f, layout);
    expect(layout.gpt?.used).toBe("backup");
    expect(layout.gpt?.primary.problem).toMatch(/header CRC32/);
    expect(codes(layout)).toContain("gpt-primary-invalid");
  });

  it("a changed byte in the primary entry array falls back to the backup", async () => {
    const f = variant("primary-array", (x) => poke(x, 1024 + 56, "X"));
    const layout = await layoutOf(f);
    expectTableMatchesSfdisk(f, layout);
    expect(layout.gpt?.primary.problem).toMatch(/entry array CRC32/);
    expect(codes(layout)).toContain("gpt-primary-invalid");
  });

  it("a wiped primary header (signature gone) falls back to the backup", async () => {
    const f = variant("primary-wiped", (x) => poke(x, 512, new Uint8Array(512)));
    const layout = await layoutOf(f);
    expectTableMatchesSfdisk(f, layout);
    expect(layout.gpt?.primary.problem).toMatch(/no GPT signature/);
  });

  it("a lost backup header is reported; the primary still lists the partitions", async () => {
    const f = variant("backup-lost", (x) => poke(x, LAST, new Uint8Array(512)));
    const layout = await layoutOf(f);
    expectTableMatchesSfdisk(f, layout);
    expect(layout.gpt?.used).toBe("primary");
    expect(codes(layout)).toEqual(["gpt-backup-invalid"]);
  });

  it("a disk grown after partitioning keeps a valid backup at its old place", async () => {
    const f = variant("grown", (x) => run("truncate", ["-s", String(SIZE + 8 * MiB), x]));
    const layout = await layoutOf(f);
    expectTableMatchesSfdisk(f, layout);
    expect(layout.gpt?.backup.valid).toBe(true);
    expect(codes(layout)).toEqual(["gpt-backup-not-at-end"]);
  });

  it("primary and backup from two different partitionings disagree", async () => {
    const other = variant("other", (x) =>
      sfdisk(x, `label: gpt\nsize=8M, type=${GPT.swap}, name="changed"\n`),
    );
    const f = variant("disagree", (x) => {
      // The other disk's backup array and header (its last 33 sectors) over this one's.
      const tail = readFileSync(other).subarray(SIZE - 33 * 512);
      const tmp = `${x}.tail`;
      writeFileSync(tmp, tail);
      placeAt(x, SIZE - 33 * 512, tmp);
    });
    const layout = await layoutOf(f);
    expectTableMatchesSfdisk(f, layout);
    expect(layout.gpt?.mismatches.length).toBeGreaterThan(0);
    expect(codes(layout)).toContain("gpt-primary-backup-mismatch");
  });

  it("with both headers unusable, the protective MBR is read as a DOS table, as sfdisk does", async () => {
    const f = variant("both", (x) => {
      poke(x, 512, new Uint8Array(512));
      poke(x, LAST, new Uint8Array(512));
    });
    const layout = await layoutOf(f);
    expectTableMatchesSfdisk(f, layout);
    expect(layout.scheme).toBe("mbr");
    expect(layout.partitions.map((p) => p.type)).toEqual(["ee"]);
    expect(codes(layout)).toContain("gpt-unreadable");
  });

  it("a hybrid MBR (sfdisk --label-nested dos) is a GPT disk with a hybrid protective MBR", async () => {
    const f = variant("hybrid", (x) =>
      run(
        "sfdisk",
        ["-q", "--label-nested", "dos", x],
        "label: dos\nstart=2048, size=32768, type=83\nstart=1, size=2047, type=ee\n",
      ),
    );
    const layout = await layoutOf(f);
    expectTableMatchesSfdisk(f, layout);
    expectSignaturesMatchBlkid(f, layout);
    expect(layout.mbr).toMatchObject({ protective: true, hybrid: true });
  });

  it("a GPT header behind a wiped MBR is noted but not used (sfdisk and blkid see no table)", async () => {
    const f = variant("no-pmbr", (x) => poke(x, 0, new Uint8Array(512)));
    const layout = await layoutOf(f);
    expectTableMatchesSfdisk(f, layout);
    expect(layout.scheme).toBe("none");
    expect(codes(layout)).toEqual(["gpt-without-protective-mbr"]);
  });
});
