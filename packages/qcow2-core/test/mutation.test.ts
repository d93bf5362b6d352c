import { describe, expect, it } from "vitest";
import { loadFixtureSet, qcowEntries } from "../../../fixtures/harness/index.js";
import { mutate } from "../../../fixtures/harness/mutate.js";
import {
  inspect,
  isQcow2Error,
  memorySource,
  Qcow2Image,
  readSnapshots,
  refcountReport,
} from "../src/index.js";
import { fixtureBytes } from "./poke.js";

// Seeded mutations of every committed fixture: each mutant must end in a
// result or a Qcow2Error, quickly. A small, core-only smoke run: the full
// fuzzer (20,000 mutants, heap and time bounds, the auditor too) lives in
// packages/qcow2-forensic/test/fuzz.
const MUTANTS_PER_FIXTURE = 80;
async function survive(bytes: Uint8Array): Promise<void> {
  const source = memorySource(bytes, "mutant.qcow2");
  const calls: Array<() => Promise<unknown>> = [
    () => inspect(source),
    () => readSnapshots(source),
    () => refcountReport(source),
    async () => {
      const image = await Qcow2Image.open(source);
      await image.read(0, Math.min(image.virtualSize, 128 * 1024));
    },
  ];
  for (const call of calls) {
    try {
      await call();
    } catch (e) {
      if (!isQcow2Error(e)) throw e;
    }
  }
}

const set = loadFixtureSet();
describe("mutated fixtures", () => {
  for (const entry of qcowEntries(set).filter((e) => !e.storedAs)) {
    it(`${entry.name}: ${MUTANTS_PER_FIXTURE} mutants end in a result or a Qcow2Error`, async () => {
      const original = fixtureBytes(entry.name, set);
      for (let i = 0; i < MUTANTS_PER_FIXTURE; i++) {
        const seed = i * 7919 + entry.name.length * 104729 + 1;
        const started = performance.now();
        try {
          await survive(mutate(original, seed).bytes);
        } catch (e) {
          throw new Error(`seed ${seed}: ${e instanceof Error ? e.stack : String(e)}`);
        }
        expect(performance.now() - started, `seed ${seed} took too long`).toBeLessThan(5000);
      }
    });
  }
});
