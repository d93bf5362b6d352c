import { beforeAll, describe, expect, it } from "vitest";
import { toolsOrSkipReason } from "../../../fixtures/harness/guest.js";
import { memoryDisk, readVolumes, type VolumeLayout } from "../src/index.js";
import { CORPUS_TOOLS, type CorpusDisk, guestCorpus } from "./fuzz/corpus.js";
import { exerciseGuest } from "./fuzz/exercise.js";
import { mutateGuest } from "./fuzz/mutate-guest.js";

// The CI run of the guest-table fuzzer: fixed seeds over tool-made disks. Each mutant
// (poked table entries, re-sealed GPT headers, poked superblocks, flipped bits, a shorter or
// longer disk) must end in a layout or a VolumesError, in time and within the read budget.
// `pnpm fuzz` runs the same with fresh seeds for as long as it is given.
const skip = toolsOrSkipReason(CORPUS_TOOLS);
export const CI_GUEST_MUTANTS = 1_500;
const TIME_LIMIT_MS = 2_000;

describe.skipIf(skip !== undefined)("guest table fuzzing (fixed seeds)", () => {
  let corpus: Array<CorpusDisk & { reference: VolumeLayout }> = [];
  beforeAll(async () => {
    corpus = await Promise.all(
      guestCorpus().map(async (d) => ({ ...d, reference: await readVolumes(memoryDisk(d.bytes)) })),
    );
  });

  it(`${CI_GUEST_MUTANTS} mutants end in a layout or a VolumesError`, async () => {
    const per = Math.ceil(CI_GUEST_MUTANTS / corpus.length);
    for (const disk of corpus) {
      for (let i = 0; i < per; i++) {
        const seed = ((i + 1) * 2_654_435_761 + disk.name.length) >>> 0;
        const mutant = mutateGuest(disk.bytes, seed, disk.starts);
        const failures = await exerciseGuest(disk.bytes, mutant, disk.reference, TIME_LIMIT_MS);
        if (failures.length > 0)
          throw new Error(
            `${disk.name} seed ${seed} (${mutant.kinds.join(", ")}):\n${failures.join("\n")}`,
          );
      }
    }
    expect(corpus.map((d) => d.name)).toEqual(["mbr-logical", "gpt", "junk"]);
  }, 300_000);
});
