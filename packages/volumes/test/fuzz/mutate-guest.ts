/**
 * Seeded, structure-aware mutations of a guest disk: MBR/EBR entry fields,
 * GPT header and entry fields (re-sealed with valid CRCs half the time, so
 * the mutant gets past the checksum), superblock bytes at partition
 * starts, random bit flips, a shorter or longer disk. A mutant is a list of
 * patches over the base disk, so no disk is ever copied.
 */
import { crc32 } from "../../src/crc32.js";
import type { GuestDisk } from "../../src/index.js";
import { prng, type Rand } from "./junk.js";

export interface Patch {
  offset: number;
  bytes: Uint8Array;
}

export interface Mutant {
  size: number;
  patches: Patch[];
  kinds: string[];
}

const int = (r: Rand, n: number) => Math.floor(r() * n);
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[int(r, xs.length)] as T;

const BOUNDARY32 = [
  0, 1, 2, 33, 34, 63, 2047, 2048, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff,
];
const BOUNDARY64 = [
  0n,
  1n,
  2n,
  34n,
  2048n,
  (1n << 32n) - 1n,
  1n << 40n,
  (1n << 53n) + 1n,
  1n << 63n,
  (1n << 64n) - 1n,
];

const le32 = (n: number) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0, true);
  return b;
};
const le64 = (n: bigint) => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, n), true);
  return b;
};

/** Reads `length` bytes of the mutant (base bytes with patches applied). */
export function readMutant(
  base: Uint8Array,
  m: Mutant,
  offset: number,
  length: number,
): Uint8Array {
  const end = Math.min(offset + length, m.size);
  const out = new Uint8Array(Math.max(0, end - offset));
  if (offset < base.length) out.set(base.subarray(offset, Math.min(end, base.length)));
  for (const p of m.patches) {
    const from = Math.max(p.offset, offset);
    const to = Math.min(p.offset + p.bytes.length, end);
    if (to > from) out.set(p.bytes.subarray(from - p.offset, to - p.offset), from - offset);
  }
  return out;
}

/** The mutant as a guest disk. */
export function mutantDisk(base: Uint8Array, m: Mutant): GuestDisk {
  return { size: m.size, read: async (offset, length) => readMutant(base, m, offset, length) };
}

/** Re-seals the GPT header at `lba` (array CRC, then header CRC) as the mutant now reads. */
function reseal(base: Uint8Array, m: Mutant, lba: number): void {
  const header = new Uint8Array(512);
  header.set(readMutant(base, m, lba * 512, 512));
  const view = new DataView(header.buffer);
  const count = view.getUint32(80, true);
  const size = view.getUint32(84, true);
  const arrayLba = Number(view.getBigUint64(72, true));
  const bytes = count * size;
  if (bytes > 0 && bytes <= 1 << 20 && Number.isSafeInteger(arrayLba * 512)) {
    const array = readMutant(base, m, arrayLba * 512, bytes);
    m.patches.push({ offset: lba * 512 + 88, bytes: le32(crc32(array)) });
  }
  const hsize = Math.min(512, Math.max(92, view.getUint32(12, true)));
  const h = header.slice(0, hsize);
  h.fill(0, 16, 20);
  m.patches.push({ offset: lba * 512 + 16, bytes: le32(crc32(h)) });
}

/**
 * One mutant of `base` for `seed`. `starts` are partition starts (byte
 * offsets) whose superblocks are worth poking.
 */
export function mutateGuest(base: Uint8Array, seed: number, starts: readonly number[]): Mutant {
  const r = prng(seed);
  const m: Mutant = { size: base.length, patches: [], kinds: [] };
  const steps = 1 + int(r, 4);
  for (let s = 0; s < steps; s++) {
    const kind = pick(r, [
      "mbr-entry",
      "ebr",
      "gpt-header",
      "gpt-entry",
      "superblock",
      "flip",
      "size",
    ]);
    m.kinds.push(kind);
    switch (kind) {
      case "mbr-entry": {
        const at = 446 + int(r, 4) * 16;
        const field = pick(r, [0, 4, 8, 12]);
        const v =
          field === 0
            ? pick(r, [0, 0x80, 0x7f])
            : field === 4
              ? pick(r, [0, 5, 0x0f, 0x85, 0xee, 0x83, 7])
              : pick(r, BOUNDARY32);
        m.patches.push({ offset: at + field, bytes: field <= 4 ? Uint8Array.of(v) : le32(v) });
        break;
      }
      case "ebr": {
        // Somewhere an EBR might be: a partition start, at an entry's fields.
        const at = pick(r, starts.length > 0 ? starts : [0]) + 446 + int(r, 2) * 16;
        m.patches.push({
          offset: at + pick(r, [4, 8, 12]),
          bytes: pick(r, [Uint8Array.of(5), le32(pick(r, BOUNDARY32))]),
        });
        break;
      }
      case "gpt-header": {
        const lba = r() < 0.7 ? 1 : base.length / 512 - 1;
        const field = pick(r, [12, 24, 32, 40, 48, 72, 80, 84]);
        const bytes =
          field === 12 || field >= 80
            ? le32(pick(r, [...BOUNDARY32, 128, 4_000_000, 92, 513]))
            : le64(pick(r, BOUNDARY64));
        m.patches.push({ offset: lba * 512 + field, bytes });
        if (r() < 0.5) reseal(base, m, lba);
        break;
      }
      case "gpt-entry": {
        const at = 1024 + int(r, 128) * 128;
        const field = pick(r, [0, 32, 40, 48, 56]);
        const bytes =
          field === 0
            ? Uint8Array.from({ length: 16 }, () => int(r, 256))
            : field === 56
              ? Uint8Array.from({ length: 72 }, () => int(r, 256))
              : le64(pick(r, BOUNDARY64));
        m.patches.push({ offset: at + field, bytes });
        if (r() < 0.5) reseal(base, m, 1);
        break;
      }
      case "superblock": {
        const start = pick(r, starts.length > 0 ? starts : [0]);
        const at =
          start +
          pick(r, [
            0,
            3,
            11,
            13,
            14,
            16,
            17,
            19,
            22,
            32,
            36,
            44,
            48,
            64,
            0x40,
            0x52,
            0x1fe,
            1024 + 0x18,
            1024 + 0x38,
            1024 + 0x60,
            1024 + 0x64,
            4086,
            32768,
            65536 + 0x40,
            int(r, 70000),
          ]);
        const bytes =
          r() < 0.5
            ? le32(pick(r, BOUNDARY32))
            : Uint8Array.from({ length: 1 + int(r, 16) }, () => int(r, 256));
        m.patches.push({ offset: at, bytes });
        break;
      }
      case "flip": {
        const at =
          r() < 0.5
            ? int(r, 64 * 1024)
            : pick(r, starts.length > 0 ? starts : [0]) + int(r, 70_000);
        if (at < base.length)
          m.patches.push({ offset: at, bytes: Uint8Array.of((base[at] ?? 0) ^ (1 << int(r, 8))) });
        break;
      }
      case "size":
        m.size = pick(r, [
          0,
          1,
          511,
          512,
          1023,
          4096,
          Math.floor(base.length / 2),
          base.length - 512,
          base.length + 4096,
        ]);
        break;
    }
  }
  return m;
}
