/**
 * Structure-aware junk: regions that start like a filesystem or volume
 * header (its magic at its place, some fields plausible, the rest random),
 * seeded so a failure can be replayed. Used against blkid (the oracle for
 * what such junk "is") and by the open-ended fuzzer (no oracle: it only
 * demands typed outcomes and bounded reads).
 */

import { lvmCrc } from "../../src/fs/lvm2.js";

/** A small seeded PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Rand = () => number;
const int = (r: Rand, n: number) => Math.floor(r() * n);
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[int(r, xs.length)] as T;

function put(b: Uint8Array, off: number, s: string | number[]): void {
  const bytes = typeof s === "string" ? [...s].map((c) => c.charCodeAt(0)) : s;
  for (const [i, x] of bytes.entries()) if (off + i < b.length) b[off + i] = x & 0xff;
}
const le16 = (n: number) => [n, n >> 8];
const le32 = (n: number) => [n, n >> 8, n >> 16, n >>> 24];
const be16 = (n: number) => [n >> 8, n];
const be32 = (n: number) => [n >>> 24, n >> 16, n >> 8, n];
const le64 = (n: number) => [...le32(n % 2 ** 32), ...le32(Math.floor(n / 2 ** 32))];
const be64 = (n: number) => [...be32(Math.floor(n / 2 ** 32)), ...be32(n % 2 ** 32)];

/** Random bytes, often a printable or odd label-ish run. */
function noise(r: Rand, b: Uint8Array, from: number, to: number): void {
  for (let i = from; i < to && i < b.length; i++) b[i] = int(r, 256);
}
function text(r: Rand, len: number): number[] {
  const alphabet = [
    0x20, 0x41, 0x42, 0x5a, 0x61, 0x7a, 0x30, 0x5f, 0x2d, 0xe9, 0x82, 0xc3, 0xa9, 0x00, 0x09,
  ];
  return Array.from({ length: len }, () => (r() < 0.7 ? 0x41 + int(r, 26) : pick(r, alphabet)));
}

type Maker = (r: Rand, b: Uint8Array) => void;

const MAKERS: Record<string, Maker> = {
  ext(r, b) {
    noise(r, b, 1024, 2048);
    put(b, 1024 + 0x38, [0x53, 0xef]);
    const flags = [0, 0x4, 0x2, 0x40, 0x80, 0x200, 0x8, 0x10, 0x1000];
    put(b, 1024 + 0x5c, le32(r() < 0.5 ? pick(r, [0, 4, 0x3c]) : int(r, 2 ** 32)));
    put(b, 1024 + 0x60, le32(pick(r, flags) | (r() < 0.5 ? pick(r, flags) : 0)));
    put(b, 1024 + 0x64, le32(r() < 0.6 ? pick(r, [0, 1, 3, 0x7b]) : int(r, 2 ** 32)));
    put(b, 1024 + 0x78, text(r, 16));
    put(b, 1024 + 0x160, le32(r() < 0.2 ? 4 : 0));
    put(b, 1024 + 0x18, le32(r() < 0.8 ? int(r, 7) : int(r, 2 ** 32)));
  },
  xfs(r, b) {
    noise(r, b, 0, 512);
    put(b, 0, "XFSB");
    if (r() < 0.6) {
      const blocklog = 9 + int(r, 8);
      const sectlog = 9 + int(r, 7);
      const inodelog = 8 + int(r, 4);
      put(b, 4, be32(2 ** blocklog));
      put(b, 102, be16(2 ** sectlog));
      put(b, 104, be16(2 ** inodelog));
      put(b, 120, [blocklog, sectlog, inodelog, blocklog - inodelog]);
      const agcount = 1 + int(r, 8);
      const agblocks = 64 + int(r, 5000);
      put(b, 84, be32(agblocks));
      put(b, 88, be32(agcount));
      put(b, 8, be64((agcount - 1) * agblocks + 64 + int(r, agblocks)));
      put(b, 80, be32(r() < 0.8 ? 1 : int(r, 100)));
      put(b, 127, [int(r, 120)]);
      put(b, 108, text(r, 12));
    }
  },
  vfat(r, b) {
    noise(r, b, 0, 512);
    put(
      b,
      0,
      pick(r, [
        [0xeb, 0x3c, 0x90],
        [0xe9, 0, 0],
        [0xeb, 0x58, 0x90],
      ]),
    );
    put(b, 0x1fe, [0x55, 0xaa]);
    if (r() < 0.5) {
      // A consistent BPB for the region (FAT12/16 or FAT32), label entries and an FSInfo sector.
      const fat32 = r() < 0.5;
      const sectors = b.length / 512;
      const spc = fat32 ? 1 : pick(r, [1, 2, 4]);
      put(b, 0x0b, le16(512));
      put(b, 0x0d, [spc]);
      put(b, 0x0e, le16(fat32 ? 8 : 1));
      put(b, 0x10, [2]);
      put(b, 0x11, le16(fat32 ? 0 : pick(r, [16, 64, 512])));
      put(b, 0x13, le16(r() < 0.5 ? sectors : 0));
      put(b, 0x20, le32(sectors));
      put(b, 0x15, [0xf8]);
      put(b, 0x16, le16(fat32 ? 0 : 8));
      put(b, 0x24, le32(fat32 ? 16 : 0));
      put(b, 0x2c, le32(pick(r, [2, 2, 3, 5000])));
      put(b, 0x30, le16(pick(r, [0, 1, 1])));
      put(b, 512, pick(r, ["RRaA", "RRdA", "\0\0\0\0", "junk"]));
      put(b, 512 + 484, pick(r, ["rrAa", "\0\0\0\0", "junk"]));
      put(b, 0x26, [pick(r, [0x28, 0x29, 0])]);
      put(b, 0x42, [pick(r, [0x28, 0x29, 0])]);
      put(b, 0x2b, text(r, 11));
      put(b, 0x47, text(r, 11));
      const rootDir = fat32 ? (8 + 32) * 512 : (1 + 16) * 512;
      for (let i = 0; i < 8; i++) {
        const off = rootDir + i * 32;
        put(b, off, text(r, 11));
        put(b, off + 11, [pick(r, [0x08, 0x0f, 0x28, 0x10, 0x20])]);
        put(b, off + 20, [0, 0]);
        put(b, off + 26, r() < 0.7 ? [0, 0] : [3, 0]);
        if (r() < 0.1) put(b, off, [pick(r, [0, 0xe5, 0x05])]);
      }
      put(b, 8 * 512 + 4, le32(pick(r, [0x0fffffff, 0x0ffffff8, 3, 0x07ffffff])));
    } else if (r() < 0.7) {
      put(b, 0x0b, le16(pick(r, [512, 512, 1024, 4096, 300])));
      put(b, 0x0d, [pick(r, [1, 2, 4, 8, 3, 0])]);
      put(b, 0x0e, le16(pick(r, [1, 4, 32, 0])));
      put(b, 0x10, [pick(r, [1, 2, 0])]);
      put(b, 0x11, le16(pick(r, [0, 16, 512, 224])));
      put(b, 0x13, le16(r() < 0.5 ? 0 : int(r, 65536)));
      put(b, 0x15, [pick(r, [0xf8, 0xf0, 0x12])]);
      const fat32 = r() < 0.5;
      put(b, 0x16, le16(fat32 ? 0 : 1 + int(r, 64)));
      put(b, 0x20, le32(int(r, 2 ** 22)));
      put(b, 0x24, le32(fat32 ? 1 + int(r, 512) : int(r, 4)));
      put(b, 0x2c, le32(pick(r, [2, 3, 0, 0x0fffffff, int(r, 2 ** 32)])));
      put(b, 0x30, le16(pick(r, [0, 1, 6000])));
      put(b, 0x26, [pick(r, [0x28, 0x29, 0])]);
      put(b, 0x42, [pick(r, [0x28, 0x29, 0])]);
      put(b, 0x2b, text(r, 11));
      put(b, 0x47, text(r, 11));
      put(
        b,
        pick(r, [0x36, 0x52]),
        pick(r, ["FAT12   ", "FAT16   ", "FAT32   ", "MSWIN", "JFS     "]),
      );
      // A root directory, wherever the BPB puts it, full of entries with a label among them.
      for (let off = 512; off < b.length; off += 32) {
        if (r() < 0.05) put(b, off, text(r, 11));
        if (r() < 0.03) put(b, off + 11, [pick(r, [0x08, 0x0f, 0x28, 0x10])]);
      }
    }
  },
  ntfs(r, b) {
    noise(r, b, 0, 512);
    put(b, 3, "NTFS    ");
    if (r() < 0.5) {
      // A consistent boot sector with an MFT whose record 3 names the volume.
      put(b, 0x0b, le16(512));
      put(b, 0x0d, [8]);
      for (const off of [0x0e, 0x11, 0x13, 0x16]) put(b, off, [0, 0]);
      put(b, 0x20, [0, 0, 0, 0]);
      put(b, 0x10, [0]);
      put(b, 0x28, le64(b.length / 512 - 1));
      put(b, 0x30, le64(4));
      put(b, 0x38, le64(pick(r, [8, 2, 100000])));
      put(b, 0x40, [0xf6]);
      put(b, 0x48, le64(int(r, 2 ** 48)));
      for (const rec of [0, 3]) {
        const off = 4 * 4096 + rec * 1024;
        put(b, off, "FILE");
        put(b, off + 4, le16(48));
        put(b, off + 6, le16(3));
        put(b, off + 0x14, le16(56));
        put(b, off + 0x1c, le32(pick(r, [1024, 1024, 40])));
        const len = 24 + 2 * int(r, 20);
        put(b, off + 56, le32(pick(r, [0x60, 0x60, 0x10])));
        put(b, off + 60, le32(pick(r, [len, len, 0])));
        put(b, off + 56 + 0x10, le32(len - 24));
        put(b, off + 56 + 0x14, le16(24));
        const name = text(r, len - 24);
        put(b, off + 56 + 24, name);
        put(b, off + 56 + len, le32(0xffffffff));
      }
    } else if (r() < 0.7) {
      put(b, 0x0b, le16(pick(r, [512, 4096, 255])));
      put(b, 0x0d, [pick(r, [1, 8, 244, 250])]);
      for (const off of [0x0e, 0x11, 0x13, 0x16, 0x20])
        put(b, off, le32(0).slice(0, off === 0x20 ? 4 : 2));
      put(b, 0x10, [0]);
      put(b, 0x28, le64(int(r, 4096)));
      put(b, 0x30, le64(int(r, 64)));
      put(b, 0x38, le64(int(r, 64)));
      put(b, 0x40, [pick(r, [0xf6, 1, 0xe1, 0x80])]);
      put(b, 0x48, le64(int(r, 2 ** 40)));
      for (let off = 4096; off < b.length; off += 1024) {
        if (r() < 0.3) {
          put(b, off, "FILE");
          noise(r, b, off + 4, off + 1024);
          put(b, off + 0x14, le16(56));
          put(b, off + 0x1c, le32(1024));
          put(b, off + 56, le32(pick(r, [0x60, 0x10, 0x70])));
          put(b, off + 60, le32(24 + int(r, 200)));
          put(b, off + 56 + 0x10, le32(int(r, 64)));
          put(b, off + 56 + 0x14, le16(24));
        }
      }
    }
  },
  exfat(r, b) {
    noise(r, b, 0, 512);
    put(b, 3, "EXFAT   ");
    put(b, 0x6c, [pick(r, [9, 12, 40, int(r, 256)]), pick(r, [0, 3, 25, int(r, 256)])]);
    put(b, 0x50, le32(int(r, 64)));
    put(b, 0x58, le32(int(r, 256)));
    put(b, 0x60, le32(pick(r, [2, 3, 4, int(r, 2 ** 32)])));
    for (let off = 512; off < b.length; off += 32)
      if (r() < 0.05) put(b, off, [pick(r, [0x83, 0x85, 0x81, 0]), int(r, 30), ...text(r, 22)]);
  },
  btrfs(r, b) {
    noise(r, b, 65536, 65536 + 4096);
    put(b, 65536 + 0x40, "_BHRfS_M");
    put(b, 65536 + 0x12b, text(r, 64));
  },
  swap(r, b) {
    noise(r, b, 1024, 1024 + 512);
    const page = pick(r, [4096, 8192, 16384, 65536]);
    put(
      b,
      page - 10,
      pick(r, ["SWAPSPACE2", "SWAP-SPACE", "S1SUSPEND", "S2SUSPEND", "ULSUSPEND", "LINHIB0001"]),
    );
    if (r() < 0.6) put(b, 1024, le32(pick(r, [1, 0x01000000, 2])));
    if (r() < 0.6) put(b, 1024 + 172, [0, 0, 0, 0, 0, 0, 0, 0]);
    put(b, 1024 + 28, text(r, 16));
  },
  luks(r, b) {
    noise(r, b, 0, 1024);
    const at = r() < 0.8 ? 0 : pick(r, [0x4000, 0x8000, 0x10000]);
    put(b, at, at === 0 ? "LUKS\xba\xbe" : "SKUL\xba\xbe");
    put(b, at + 6, be16(pick(r, [1, 2, 3])));
    put(b, at + 168, text(r, 40));
    put(b, at + 24, text(r, 48));
  },
  iso(r, b) {
    for (let i = 0; i < 4; i++) {
      const off = 32768 + i * 2048;
      noise(r, b, off, off + 900);
      put(b, off, [
        pick(r, [0, 1, 2, 0xff, 1]),
        ..."CD001".split("").map((c) => c.charCodeAt(0)),
        1,
      ]);
      if (r() < 0.5) put(b, off + 88, pick(r, ["%/@", "%/E", "ab"]));
      put(b, off + 40, text(r, 32));
      put(b, off + 813, pick(r, ["2024010203040500", "0000000000000000", "abcdefghijklmnop"]));
    }
  },
  bitlocker(r, b) {
    noise(r, b, 0, 512);
    put(b, 0, pick(r, ["\xeb\x52\x90-FVE-FS-", "\xeb\x58\x90-FVE-FS-", "\xeb\x58\x90MSWIN4.1"]));
    const off = pick(r, [0, 4096, 65536, int(r, 2 ** 31)]);
    put(b, 176, le64(off));
    put(b, 440, le64(off));
    if (off + 16 < b.length && r() < 0.7) put(b, off, "-FVE-FS-");
  },
  lvm(r, b) {
    noise(r, b, 0, 2048);
    const at = pick(r, [0, 512, 1024, 1536]);
    put(b, at, "LABELONE");
    put(b, at + 8, le64(r() < 0.8 ? at / 512 : 7));
    put(b, at + 20, le32(32));
    put(b, at + 24, "LVM2 001");
    put(b, at + 32, text(r, 32));
    // A correct label checksum most of the time (LVM2's own CRC over the rest of the sector).
    if (r() < 0.7) put(b, at + 16, le32(lvmCrc(b.subarray(at + 20, at + 512))));
  },
};

export const JUNK_KINDS = Object.keys(MAKERS);

/** A region of `size` bytes (zeros, then junk shaped like `kind`). */
export function junkRegion(seed: number, kind: string, size: number): Uint8Array {
  const r = prng(seed);
  const b = new Uint8Array(size);
  (MAKERS[kind] as Maker)(r, b);
  return b;
}
