import { randomInt } from "node:crypto";
import { expect, it } from "vitest";
import { memoryDisk, readVolumes } from "../../src/index.js";
import { guestCorpus } from "./corpus.js";
import { exerciseGuest } from "./exercise.js";
import { mutateGuest } from "./mutate-guest.js";

// `pnpm fuzz`: guest-table mutants with fresh seeds until FUZZ_SECONDS pass (default 300).
// A failing seed is printed; FUZZ_SEED replays the run.
const seconds = Number(process.env.FUZZ_SECONDS ?? 300);
const base = Number(process.env.FUZZ_SEED ?? randomInt(1, 2 ** 31));

it(
  `fuzzes guest tables for ${seconds} s from seed ${base}`,
  async () => {
    const corpus = guestCorpus();
    const references = await Promise.all(corpus.map((d) => readVolumes(memoryDisk(d.bytes))));
    const deadline = Date.now() + seconds * 1000;
    const failed: string[] = [];
    let runs = 0;
    for (let i = 0; Date.now() < deadline; i++) {
      const k = i % corpus.length;
      const disk = corpus[k] as (typeof corpus)[number];
      const seed = (base + i * 2_654_435_761) >>> 0;
      const mutant = mutateGuest(disk.bytes, seed, disk.starts);
      const failures = await exerciseGuest(disk.bytes, mutant, references[k] as never, 2_000);
      runs++;
      if (failures.length > 0)
        failed.push(
          `${disk.name} seed ${seed} (${mutant.kinds.join(", ")}): ${failures.join("; ")}`,
        );
    }
    console.info(`[fuzz] ${runs} guest mutants from seed ${base}; ${failed.length} failed`);
    expect(failed).toEqual([]);
  },
  24 * 3600 * 1000,
);
