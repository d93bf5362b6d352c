import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FIXTURES_DIR } from "../../../fixtures/harness/index.js";
import { mutate } from "../../../fixtures/harness/mutate.js";
import { corpus } from "./fuzz/corpus.js";
import { exercise } from "./fuzz/exercise.js";

// The CI fuzz run: a fixed seed set of 10,000 mutants of every committed
// fixture through every entry point. Each must end in a result or a
// Qcow2Error, in time, without the heap growing past its bound.
export const CI_MUTANTS = 10_000;
const TIME_LIMIT_MS = 10_000; // a hang detector, not a timing test: generous for loaded machines
const HEAP_LIMIT_MB = 768;

describe("mutation fuzzing (fixed seeds)", () => {
  const images = corpus();
  const perImage = Math.ceil(CI_MUTANTS / images.length);
  for (const image of images) {
    it(`${image.name}: ${perImage} mutants end in a result or a Qcow2Error`, async () => {
      let peakHeap = 0;
      for (let i = 0; i < perImage; i++) {
        const seed = (i + 1) * 2_654_435_761 + image.name.length * 97 + image.bytes.length;
        const m = mutate(image.bytes, seed);
        const failures = await exercise(m.bytes, TIME_LIMIT_MS);
        if (failures.length > 0) {
          throw new Error(
            `${image.name} seed ${seed >>> 0} (${m.kind}: ${m.detail}):\n${failures.map((f) => `${f.entry}: ${f.error}`).join("\n")}`,
          );
        }
        if (i % 50 === 0) peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed / 2 ** 20);
      }
      console.info(
        `[fuzz] ${image.name}: ${perImage} mutants, peak heap ${peakHeap.toFixed(0)} MB`,
      );
      expect(peakHeap).toBeLessThan(HEAP_LIMIT_MB);
    }, 300_000);
  }
});

describe("regressions", () => {
  // Inputs `pnpm fuzz` once broke; each must now end in a result or a Qcow2Error.
  const dir = join(FIXTURES_DIR, "regressions");
  const files = readdirSync(dir).filter((f) => f.endsWith(".bin"));
  it("the regression folder is replayed", () => {
    expect(readdirSync(dir)).toContain("README.md");
  });
  for (const file of files) {
    it(`${file} replays without breaking the contract`, async () => {
      expect(await exercise(new Uint8Array(readFileSync(join(dir, file))), TIME_LIMIT_MS)).toEqual(
        [],
      );
    });
  }
});
