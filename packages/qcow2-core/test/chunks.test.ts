import { describe, expect, it } from "vitest";
import { loadFixtureSet, qcowEntries } from "../../../fixtures/harness/index.js";
import { type DiskChunk, isQcow2Error, memorySource, Qcow2Image } from "../src/index.js";
import { openImage } from "../src/node.js";
import { fixtureBytes } from "./poke.js";

// chunks() against read() of the same range: read() is what the fixture suites hold to
// qemu-img convert; chunks() must cover the range in order with the same bytes.

async function collect(image: Qcow2Image, chunks: AsyncIterable<DiskChunk>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of chunks)
    parts.push(c.bytes === null ? new Uint8Array(c.length) : c.bytes.slice());
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  expect(out.length).toBeLessThanOrEqual(image.virtualSize);
  return out;
}

const set = loadFixtureSet();
// Every fixture qemu-img converts without a key (backing files and data files resolve from disk).
const readable = qcowEntries(set).filter(
  (e) => e.readable && !e.qemuConvertFails && e.passphraseFile === null,
);

describe("chunks()", () => {
  it("has readable fixtures to walk", () => {
    expect(readable.length).toBeGreaterThan(5);
  });

  for (const entry of readable) {
    it(`${entry.name}: any range, chunk size and read-ahead gives read()'s bytes`, async () => {
      const image = await openImage(set.path(entry));
      try {
        const size = image.virtualSize;
        const ranges: Array<[number, number]> = [
          [0, size],
          [Math.floor(size / 3) + 17, Math.floor((2 * size) / 3) + 5],
          [size - 1, size],
          [size, size],
        ];
        for (const [start, end] of ranges) {
          const length = Math.min(end - start, 8 * 1024 * 1024);
          const expected = await image.read(start, length);
          for (const chunkSize of [4096, 65536 + 512, 4 * 1024 * 1024]) {
            for (const readAhead of [0, 3]) {
              for (const reuseBuffers of [false, true]) {
                const got = await collect(
                  image,
                  image.chunks({ start, end: start + length, chunkSize, readAhead, reuseBuffers }),
                );
                expect({
                  start,
                  chunkSize,
                  readAhead,
                  reuseBuffers,
                  equal: Buffer.compare(got, expected) === 0,
                }).toEqual({
                  start,
                  chunkSize,
                  readAhead,
                  reuseBuffers,
                  equal: true,
                });
              }
            }
          }
        }
      } finally {
        await image.close();
      }
    });
  }

  it("with reuseBuffers, the last holdChunks chunks stay intact while the walk goes on", async () => {
    // 64 distinct 4 KiB blocks up front: an overwritten buffer shows.
    const entry = readable.find((e) => e.name === "compressed-zlib");
    if (entry === undefined) throw new Error("no fixture");
    const image = await openImage(set.path(entry));
    try {
      const chunkSize = 4096;
      const expected = await image.read(0, Math.min(image.virtualSize, 64 * chunkSize));
      for (const holdChunks of [1, 3, 5]) {
        const held: Array<{ offset: number; bytes: Uint8Array }> = [];
        let checked = 0;
        for await (const c of image.chunks({
          end: expected.length,
          chunkSize,
          readAhead: 2,
          reuseBuffers: true,
          holdChunks,
        })) {
          if (c.bytes === null) continue;
          held.push({ offset: c.offset, bytes: c.bytes });
          if (held.length > holdChunks) held.shift();
          // Every chunk still held must show the bytes it was handed with.
          for (const h of held) {
            const want = expected.subarray(h.offset, h.offset + h.bytes.length);
            expect(Buffer.compare(h.bytes, want)).toBe(0);
            checked++;
          }
        }
        expect(checked).toBeGreaterThan(holdChunks);
      }
    } finally {
      await image.close();
    }
  });

  it("minZeroRun: shorter zero runs come as zero chunks, the bytes unchanged", async () => {
    let shortZeroChunks = 0;
    for (const entry of readable) {
      const image = await openImage(set.path(entry));
      try {
        const length = Math.min(image.virtualSize, 8 * 1024 * 1024);
        const expected = await image.read(0, length);
        const chunkSize = 1024 * 1024;
        const chunks = image.chunks({
          end: length,
          chunkSize,
          minZeroRun: 4096,
          reuseBuffers: true,
        });
        const got = new Uint8Array(length);
        let at = 0;
        for await (const c of chunks) {
          expect(c.offset).toBe(at);
          if (c.bytes !== null) got.set(c.bytes, at);
          else if (c.length < chunkSize) shortZeroChunks++;
          at += c.length;
        }
        expect({ name: entry.name, at, equal: Buffer.compare(got, expected) === 0 }).toEqual({
          name: entry.name,
          at: length,
          equal: true,
        });
      } finally {
        await image.close();
      }
    }
    // The default (a whole chunk) would have read these runs.
    expect(shortZeroChunks).toBeGreaterThan(0);
  });

  it("reports a long zero run without reading it, and chunks with bytes never exceed chunkSize", async () => {
    const sparse = readable.find((e) => e.name === "sparse") ?? readable[0];
    if (sparse === undefined) throw new Error("no fixture");
    const image = await Qcow2Image.open(memorySource(fixtureBytes(sparse.name)));
    try {
      let skipped = 0;
      for await (const c of image.chunks({ chunkSize: 4096 })) {
        if (c.bytes === null) skipped += c.length;
        else expect(c.bytes.length).toBeLessThanOrEqual(4096);
      }
      expect(skipped).toBeGreaterThan(0);
    } finally {
      await image.close();
    }
  });

  it("a damaged cluster ahead of the consumer fails when the consumer reaches it, typed", async () => {
    const bytes = fixtureBytes("compressed-zlib");
    const image = await Qcow2Image.open(memorySource(bytes));
    // Every byte of the file past the metadata turned to garbage: compressed clusters fail.
    for (let i = 196608; i < bytes.length; i++) bytes[i] = 0xff;
    let error: unknown;
    try {
      for await (const _ of image.chunks({ chunkSize: 65536, readAhead: 8 })) {
        // consume
      }
    } catch (e) {
      error = e;
    } finally {
      await image.close();
    }
    expect(isQcow2Error(error)).toBe(true);
  });
});
