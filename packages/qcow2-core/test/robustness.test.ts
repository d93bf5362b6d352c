import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  inspect,
  isQcow2Error,
  memorySource,
  Qcow2Image,
  readSnapshots,
  refcountReport,
} from "../src/index.js";

/** Runs every entry point; anything but a result or a Qcow2Error fails the property. */
async function exerciseAll(bytes: Uint8Array): Promise<void> {
  const source = memorySource(bytes, "fuzz.qcow2");
  const attempt = async (f: () => Promise<unknown>) => {
    try {
      await f();
    } catch (e) {
      if (!isQcow2Error(e)) throw e;
    }
  };
  await attempt(() => inspect(source));
  await attempt(() => readSnapshots(source));
  await attempt(() => refcountReport(source));
  await attempt(async () => {
    const image = await Qcow2Image.open(source);
    await image.read(0, Math.min(image.virtualSize, 256 * 1024));
  });
}

function withMagic(version: number, rest: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + rest.length);
  new DataView(out.buffer).setUint32(0, 0x514649fb);
  new DataView(out.buffer).setUint32(4, version);
  out.set(rest, 8);
  return out;
}

describe("hostile input", () => {
  it("arbitrary bytes end in a result or a Qcow2Error", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 8192 }), async (bytes) => {
        await exerciseAll(bytes);
      }),
      { numRuns: 300 },
    );
  });

  it("a valid magic and version followed by garbage ends in a result or a Qcow2Error", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(1, 2, 3),
        fc.uint8Array({ minLength: 64, maxLength: 8192 }),
        async (v, rest) => {
          await exerciseAll(withMagic(v, rest));
        },
      ),
      { numRuns: 500 },
    );
  });

  it("an empty source is a typed FILE_TOO_SMALL error", async () => {
    await expect(inspect(memorySource(new Uint8Array(0)))).rejects.toMatchObject({
      code: "FILE_TOO_SMALL",
    });
  });

  it("text is a typed BAD_MAGIC error", async () => {
    const text = new TextEncoder().encode(
      "definitely not a qcow2 image header, just some words of text here",
    );
    await expect(inspect(memorySource(text))).rejects.toMatchObject({ code: "BAD_MAGIC" });
  });
});
