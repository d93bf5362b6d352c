import { randomInt } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { FIXTURES_DIR } from "../../../../fixtures/harness/index.js";
import { mutate } from "../../../../fixtures/harness/mutate.js";
import { corpus } from "./corpus.js";
import { exercise } from "./exercise.js";

// `pnpm fuzz`: mutate with fresh seeds until FUZZ_SECONDS pass (default 300);
// every input that breaks the contract is saved to fixtures/regressions/
// (replayed by the test suite from then on).
const seconds = Number(process.env.FUZZ_SECONDS ?? 300);
const base = Number(process.env.FUZZ_SEED ?? randomInt(1, 2 ** 31));

it(
  `fuzzes for ${seconds} s from seed ${base}`,
  async () => {
    const images = corpus();
    const deadline = Date.now() + seconds * 1000;
    const saved: string[] = [];
    let runs = 0;
    for (let i = 0; Date.now() < deadline; i++) {
      const image = images[i % images.length] as (typeof images)[number];
      const seed = (base + i * 2_654_435_761) >>> 0;
      const m = mutate(image.bytes, seed);
      const failures = await exercise(m.bytes, 2_000);
      runs++;
      if (failures.length > 0) {
        const name = `${image.name}-${seed}`;
        writeFileSync(join(FIXTURES_DIR, "regressions", `${name}.bin`), m.bytes);
        writeFileSync(
          join(FIXTURES_DIR, "regressions", `${name}.json`),
          `${JSON.stringify({ fixture: image.name, seed, mutation: m.kind, detail: m.detail, failures }, null, 2)}\n`,
        );
        saved.push(name);
      }
    }
    console.info(
      `[fuzz] ${runs} mutants from seed ${base}; ${saved.length} saved to fixtures/regressions/`,
    );
    expect(saved).toEqual([]);
  },
  24 * 3600 * 1000,
);
