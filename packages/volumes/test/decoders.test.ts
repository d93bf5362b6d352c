import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeBitLockerHeader } from "../src/fs/bitlocker.js";
import { decodeBtrfsSuperblock } from "../src/fs/btrfs.js";
import { decodeExfatBootSector } from "../src/fs/exfat.js";
import { decodeExtSuperblock, extFeatureNames, extTypes } from "../src/fs/ext.js";
import { decodeFatBootSector, fatGeometry, findFatLabelEntry } from "../src/fs/fat.js";
import { isoDate, mergeUtf16beAscii } from "../src/fs/iso9660.js";
import { decodeLuksHeader } from "../src/fs/luks.js";
import { decodeLvmLabel, lvmCrc } from "../src/fs/lvm2.js";
import { parseLvmText } from "../src/fs/lvm2-text.js";
import { decodeNtfsBootSector } from "../src/fs/ntfs.js";
import { decodeSwapHeader } from "../src/fs/swap.js";
import { decodeXfsSuperblock, xfsSuperblockValid } from "../src/fs/xfs.js";
import { displayString, isVolumesError, memoryDisk, readVolumes } from "../src/index.js";
import { utf16ToUtf8 } from "../src/strings.js";
import { decodeGptEntry, decodeGptHeader, gptAttributeString } from "../src/table/gpt.js";
import { decodeMbrSector } from "../src/table/mbr.js";

// Decoders take any bytes: they return a value (or null), never throw.
const anyBytes = fc.uint8Array({ minLength: 0, maxLength: 4096 });

describe("decoders on arbitrary bytes", () => {
  it("never throw", () => {
    fc.assert(
      fc.property(anyBytes, fc.integer({ min: 0, max: 3 }), (b, n) => {
        decodeMbrSector(b);
        decodeGptHeader(b);
        decodeGptEntry(b, n, 128);
        decodeBitLockerHeader(b);
        decodeBtrfsSuperblock(b);
        decodeExfatBootSector(b);
        const ext = decodeExtSuperblock(b);
        if (ext) {
          extTypes(ext);
          extFeatureNames(ext);
        }
        const fat = decodeFatBootSector(b);
        if (fat) fatGeometry(fat, n % 2 === 0);
        findFatLabelEntry(b);
        decodeLuksHeader(b);
        decodeLvmLabel(b, n);
        lvmCrc(b);
        decodeNtfsBootSector(b);
        decodeSwapHeader(b);
        const xfs = decodeXfsSuperblock(b);
        if (xfs) xfsSuperblockValid(xfs);
        isoDate(b);
        mergeUtf16beAscii(b, b.subarray(0, b.length >> 1));
        utf16ToUtf8(b, n % 2 === 0 ? "le" : "be", b.length * 3 + 1);
        displayString(b);
      }),
      { numRuns: 2000 },
    );
  });

  it("parse any metadata text without throwing", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 2000 }), (s) => {
        parseLvmText(s);
      }),
      { numRuns: 2000 },
    );
    expect(Object.keys(parseLvmText('a { b = [ "c", 1 ] d = 2 }')).length).toBe(1);
  });

  it("gptAttributeString takes any 64-bit value", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (v) => {
        gptAttributeString(v);
      }),
    );
  });
});

describe("readVolumes on arbitrary small disks", () => {
  it("ends in a layout or a VolumesError", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 70_000 }), async (b) => {
        // A table signature in place half the time, so the table readers run on the junk.
        if (b.length >= 512 && b[0] !== undefined && b[0] % 2 === 0) {
          b[510] = 0x55;
          b[511] = 0xaa;
        }
        try {
          const layout = await readVolumes(memoryDisk(b));
          expect(layout.size).toBe(b.length);
        } catch (e) {
          if (!isVolumesError(e)) throw e;
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe("displayString", () => {
  it("keeps valid UTF-8 as it is", () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        expect(displayString(new TextEncoder().encode(s))).toBe(s);
      }),
    );
  });

  it("spells each byte that is not UTF-8 as \\xNN", () => {
    expect(displayString(Uint8Array.of(0x4f, 0x82, 0x4b, 0xed, 0xa0, 0x80))).toBe(
      "O\\x82K\\xed\\xa0\\x80",
    );
  });
});
