import { describe, expect, it } from "vitest";
import { loadFixtureSet, qcowEntries } from "../../../fixtures/harness/index.js";
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
const HEADER_FIELDS: Array<[number, 4 | 8]> = [
  [4, 4],
  [8, 8],
  [16, 4],
  [20, 4],
  [24, 8],
  [32, 4],
  [36, 4],
  [40, 8],
  [48, 8],
  [56, 4],
  [60, 4],
  [64, 8],
  [72, 8],
  [80, 8],
  [88, 8],
  [96, 4],
  [100, 4],
];
const BOUNDARY = [
  0n,
  1n,
  7n,
  9n,
  21n,
  512n,
  65535n,
  0x7fffffffn,
  0xffffffffn,
  1n << 53n,
  (1n << 63n) - 1n,
  0xffffffffffffffffn,
];

function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return (n: number) => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) % n;
  };
}

function mutate(original: Uint8Array, seed: number): Uint8Array {
  const next = rng(seed);
  const bytes = original.slice();
  const view = new DataView(bytes.buffer);
  const kind = next(4);
  if (kind === 0) {
    for (let i = 0, n = 1 + next(8); i < n; i++) {
      const at = next(Math.min(bytes.length, 1 << 16));
      bytes[at] = (bytes[at] ?? 0) ^ (1 << next(8));
    }
  } else if (kind === 1) {
    const [offset, width] = HEADER_FIELDS[next(HEADER_FIELDS.length)] as [number, 4 | 8];
    const value = BOUNDARY[next(BOUNDARY.length)] as bigint;
    if (width === 4) view.setUint32(offset, Number(value & 0xffffffffn));
    else view.setBigUint64(offset, value);
  } else if (kind === 2) {
    return bytes.subarray(0, next(bytes.length));
  } else {
    // Poke an 8-byte-aligned table entry somewhere in the metadata region.
    const at = (next(Math.max(1, Math.min(bytes.length, 1 << 18) - 8)) >> 3) << 3;
    view.setBigUint64(at, BOUNDARY[next(BOUNDARY.length)] as bigint);
  }
  return bytes;
}

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
          await survive(mutate(original, seed));
        } catch (e) {
          throw new Error(`seed ${seed}: ${e instanceof Error ? e.stack : String(e)}`);
        }
        expect(performance.now() - started, `seed ${seed} took too long`).toBeLessThan(5000);
      }
    });
  }
});
