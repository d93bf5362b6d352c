import { describe, expect, it } from "vitest";
import { decodeFeatures } from "../src/format/features.js";
import { decodeCompressedDescriptor, decodeL2Entry } from "../src/format/l2-entry.js";
import { refcountAt } from "../src/format/refcount.js";
import { splitNanoseconds } from "../src/format/snapshot-table.js";
import { decodeString } from "../src/format/strings.js";

describe("L2 entry decoding", () => {
  it("splits a compressed descriptor at bit 54 for 64 KiB clusters, as QEMU does", () => {
    // 62 - (16 - 8) = 54 offset bits; 3 additional sectors above them.
    const entry = (1n << 62n) | (3n << 54n) | 0x123456n;
    const d = decodeCompressedDescriptor(entry, 16);
    expect(d.hostOffset).toBe(0x123456);
    // (3 + 1) sectors minus the offset's position inside its first sector.
    expect(d.compressedLength).toBe(4 * 512 - (0x123456 % 512));
  });

  it("splits a compressed descriptor at bit 61 for 512-byte clusters", () => {
    const entry = (1n << 62n) | (1n << 61n) | 0x200n;
    expect(decodeCompressedDescriptor(entry, 9)).toEqual({
      hostOffset: 0x200,
      compressedLength: 1024,
    });
  });

  it("distinguishes both zero-cluster kinds", () => {
    expect(decodeL2Entry(1n, 16)).toEqual({ kind: "zero-plain" });
    expect(decodeL2Entry(0x50000n | 1n | (1n << 63n), 16)).toEqual({
      kind: "zero-alloc",
      hostOffset: 0x50000,
    });
  });

  it("treats offset 0 as unallocated unless an external data file makes it valid", () => {
    expect(decodeL2Entry(1n << 63n, 16)).toEqual({ kind: "unallocated" });
    expect(decodeL2Entry(1n << 63n, 16, { hasDataFile: true })).toEqual({
      kind: "normal",
      hostOffset: 0,
    });
  });
});

describe("feature bitmaps", () => {
  it("names known bits and keeps unknown ones", () => {
    const f = decodeFeatures("incompatible", (1n << 0n) | (1n << 1n) | (1n << 40n));
    expect(f.names).toEqual(["dirty", "corrupt"]);
    expect(f.unknownBits).toEqual([40]);
    expect(f.value).toBe("0x10000000003");
  });

  it("keeps bit 63 exactly", () => {
    expect(decodeFeatures("autoclear", 1n << 63n).unknownBits).toEqual([63]);
  });
});

describe("refcount entries", () => {
  it("reads 1-bit refcounts least-significant bit first", () => {
    const block = Uint8Array.of(0b0000_0010);
    expect(refcountAt(block, 0, 0)).toBe(0);
    expect(refcountAt(block, 1, 0)).toBe(1);
  });

  it("reads 2- and 4-bit refcounts from the low bits up", () => {
    expect(refcountAt(Uint8Array.of(0b1110_0100), 1, 1)).toBe(1);
    expect(refcountAt(Uint8Array.of(0b1110_0100), 3, 1)).toBe(3);
    expect(refcountAt(Uint8Array.of(0x5a), 0, 2)).toBe(0xa);
    expect(refcountAt(Uint8Array.of(0x5a), 1, 2)).toBe(0x5);
  });

  it("reads 8- to 64-bit refcounts big-endian", () => {
    const block = Uint8Array.of(0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3);
    expect(refcountAt(block, 1, 3)).toBe(1);
    expect(refcountAt(block, 0, 4)).toBe(1);
    expect(refcountAt(block, 1, 5)).toBe(0x00020000);
    expect(refcountAt(block, 1, 6)).toBe(3);
  });

  it("never wraps a 64-bit refcount above 2^53", () => {
    expect(refcountAt(new Uint8Array(8).fill(0xff), 0, 6)).toBe(Number.POSITIVE_INFINITY);
  });
});

describe("snapshot clocks", () => {
  it("splits a VM clock beyond 2^53 nanoseconds exactly", () => {
    // 200 days of guest uptime: more nanoseconds than a double holds exactly.
    const ns = 200n * 86400n * 1_000_000_000n + 123_456_789n;
    expect(splitNanoseconds(ns)).toEqual({ sec: 200 * 86400, nsec: 123_456_789 });
  });
});

describe("on-disk strings", () => {
  // The platform's lossy UTF-8 decoder is the oracle; decodeString decodes ASCII itself.
  const platform = (bytes: Uint8Array, max: number) => {
    let view = bytes.subarray(0, Math.min(bytes.length, max));
    const nul = view.indexOf(0);
    if (nul >= 0) view = view.subarray(0, nul);
    return new TextDecoder().decode(view);
  };
  it("decodes as the platform's UTF-8 decoder does: ASCII, controls, UTF-8, invalid bytes, a BOM, a NUL, the cap", () => {
    let seed = 7;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed;
    };
    const cases: Uint8Array[] = [
      new Uint8Array(0),
      new TextEncoder().encode("snap-01 before update"),
      new TextEncoder().encode("\u00e9t\u00e9 \u2603 snapshot"),
      new Uint8Array([0xef, 0xbb, 0xbf, 0x61, 0x62]),
      new Uint8Array([0x61, 0x00, 0x62]),
      new Uint8Array([0x61, 0xff, 0xfe, 0x62, 0xc3]),
      new Uint8Array(2000).fill(0x41),
    ];
    for (let n = 0; n < 500; n++) {
      const length = next() % 80;
      // Mostly ASCII (controls included), sometimes any byte.
      const wide = n % 3 === 0;
      cases.push(Uint8Array.from({ length }, () => next() % (wide ? 256 : 128)));
    }
    let ascii = 0;
    for (const bytes of cases)
      for (const max of [0, 3, 16, 1024, 65535]) {
        expect(decodeString(bytes, max)).toBe(platform(bytes, max));
        if (bytes.every((b) => b < 0x80) && bytes.length > 0) ascii++;
      }
    expect(ascii).toBeGreaterThan(100);
  });
});
