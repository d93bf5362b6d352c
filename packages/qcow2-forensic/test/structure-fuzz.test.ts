import { describe, expect, it } from "vitest";
import { structureMutants } from "../../../fixtures/harness/structure.js";
import { corpus } from "./fuzz/corpus.js";
import { exercise } from "./fuzz/exercise.js";

// Every structure-aware mutant of every committed fixture — boundary values
// (0, 1, 2^53−1, 2^53, 2^56−512, 2^62, 2^63, 2^64−1, misaligned by 1 and
// 512) in every header field, header extension field, L1/L2 entry
// (standard, compressed, extended), refcount table and block entry, snapshot
// table field, bitmap directory and table entry and LUKS field — through
// every library entry point. An untyped error (what the CLI would report as
// INTERNAL) or a time overrun fails the run.
const TIME_LIMIT_MS = 10_000; // a hang detector, not a timing test: generous for loaded machines

describe("structure-aware fuzzing (every mutant, fixed)", () => {
  for (const image of corpus()) {
    it(`${image.name}: boundary values in every table entry end in a result or a Qcow2Error`, async () => {
      let n = 0;
      for (const m of structureMutants(image.bytes)) {
        n++;
        const failures = await exercise(m.bytes, TIME_LIMIT_MS);
        if (failures.length > 0)
          throw new Error(
            `${image.name} ${m.detail}:\n${failures.map((f) => `${f.entry}: ${f.error}`).join("\n")}`,
          );
      }
      expect(n).toBeGreaterThan(0);
    }, 300_000);
  }
});
