import { readFileSync } from "node:fs";
import { loadFixtureSet, qcowEntries } from "../../../../fixtures/harness/index.js";

/** The committed QCOW fixtures the fuzzer mutates (the gzip-stored 12 MiB one excepted: too slow per mutant). */
export function corpus(): Array<{ name: string; bytes: Uint8Array }> {
  const set = loadFixtureSet();
  return qcowEntries(set)
    .filter((e) => !e.storedAs)
    .map((e) => ({ name: e.name, bytes: new Uint8Array(readFileSync(set.path(e))) }));
}
