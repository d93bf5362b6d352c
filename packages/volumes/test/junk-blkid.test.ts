import { writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  fileDisk,
  MiB,
  placeAt,
  removeDir,
  sfdisk,
  sparseFile,
  tempDir,
  toolsOrSkipReason,
} from "../../../fixtures/harness/guest.js";
import { GPT } from "../../../fixtures/harness/guest-disks.js";
import { readVolumes, type VolumeLayout } from "../src/index.js";
import { JUNK_KINDS, junkRegion } from "./fuzz/junk.js";
import { blkidWithStatus } from "./reference/compare.js";

// Junk superblocks: each partition starts like some filesystem (its magic, some plausible
// fields, random bytes elsewhere). blkid decides what each one is; this package must agree,
// tag for tag — including "nothing" and "ambivalent". Seeded: FUZZ_SEED replays a run.
const skip = toolsOrSkipReason(["sfdisk", "blkid"]);
const SEED = Number(process.env.FUZZ_SEED ?? 20_261_202);
const COUNT = 44;

describe.skipIf(skip !== undefined)(`junk superblocks judged by blkid (seed ${SEED})`, () => {
  let dir = "";
  let raw = "";
  let layout: VolumeLayout;
  beforeAll(async () => {
    dir = tempDir("junk");
    // Alternating 1 MiB (a "tiny" region to libblkid) and 2 MiB partitions.
    const sizes = Array.from({ length: COUNT }, (_, i) => (i % 2 === 0 ? 1 : 2));
    raw = sparseFile(`${dir}/junk.raw`, (sizes.reduce((a, b) => a + b, 0) + 2) * MiB);
    sfdisk(raw, `label: gpt\n${sizes.map((s) => `size=${s}M, type=${GPT.linux}`).join("\n")}\n`);
    let start = MiB;
    for (const [i, s] of sizes.entries()) {
      const kind = JUNK_KINDS[i % JUNK_KINDS.length] as string;
      const file = `${dir}/part${i}`;
      writeFileSync(file, junkRegion(SEED + i, kind, s * MiB));
      placeAt(raw, start, file);
      start += s * MiB;
    }
    const disk = fileDisk(raw);
    layout = await readVolumes(disk);
    disk.close();
  });
  afterAll(() => removeDir(dir));

  it("agrees with blkid on every junk region", () => {
    expect(layout.partitions).toHaveLength(COUNT);
    for (const p of layout.partitions) {
      const kind = JUNK_KINDS[(p.number - 1) % JUNK_KINDS.length];
      const got = {
        partition: p.number,
        kind,
        tags: p.filesystem?.tags ?? {},
        ambivalent: layout.problems.some(
          (x) => x.partition === p.number && x.code === "ambivalent",
        ),
      };
      expect(got).toEqual({
        partition: p.number,
        kind,
        ...blkidWithStatus(raw, p.start, p.length),
      });
    }
  });
});
