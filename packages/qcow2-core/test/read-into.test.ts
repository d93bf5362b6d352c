import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadFixtureSet, qcowEntries } from "../../../fixtures/harness/index.js";
import { openImage } from "../src/node.js";

// readInto() does not zero its target first: every layer must write every byte
// of the range (zero clusters, holes, the tail past a shorter backing file).
// A target full of garbage shows any byte left behind; read() is what the
// fixture suites hold to qemu-img convert.

const set = loadFixtureSet();
const readable = qcowEntries(set).filter((e) => e.readable && !e.qemuConvertFails);

describe("readInto() over a dirty buffer", () => {
  it("has readable fixtures, encrypted ones among them", () => {
    expect(readable.length).toBeGreaterThan(5);
    expect(readable.some((e) => e.passphraseFile !== null)).toBe(true);
  });

  for (const entry of readable) {
    it(`${entry.name}: equals read() whatever the buffer held`, async () => {
      const passphrase =
        entry.passphraseFile === null
          ? undefined
          : new Uint8Array(readFileSync(join(set.dir, entry.passphraseFile)));
      const image = await openImage(set.path(entry), passphrase ? { passphrase } : {});
      try {
        const size = image.virtualSize;
        const length = Math.min(size, 4 * 1024 * 1024);
        const starts = [0, Math.max(0, Math.floor(size / 2) - 4097), Math.max(0, size - length)];
        for (const start of starts) {
          const expected = await image.read(start, length);
          for (const garbage of [0xa5, 0xff]) {
            const target = new Uint8Array(length + 3).fill(garbage);
            const n = await image.readInto(target, start);
            expect(n).toBe(expected.length);
            expect({
              start,
              garbage,
              equal: Buffer.compare(target.subarray(0, n), expected) === 0,
            }).toEqual({ start, garbage, equal: true });
          }
        }
      } finally {
        await image.close();
      }
    });
  }
});
