/**
 * Boot code fingerprints: the MBR's code area and, per partition, the code a
 * volume boot record holds — only the code bytes, never the fields a
 * filesystem rewrites in normal use (BPB counters, dirty flags,
 * superblocks), so two states differ only when code changed.
 */
import { isZero } from "./bytes.js";
import { type DiskReader, Region } from "./disk.js";
import type { BootCode, Partition } from "./layout.js";
import { sha256Hex } from "./sha256.js";
import { GPT_BIOS_BOOT } from "./table/type-names.js";

/** Byte ranges [from, to) of a partition's first bytes that are boot code, by filesystem. */
function codeRanges(part: Partition): { what: string; ranges: Array<[number, number]> } | null {
  if (part.type === GPT_BIOS_BOOT)
    return { what: "BIOS boot partition (first 64 KiB)", ranges: [[0, 64 * 1024]] };
  const fs = part.filesystem;
  if (fs === null) return null;
  switch (fs.type) {
    case "vfat":
      return fs.version === "FAT32"
        ? {
            what: "FAT32 boot sector code",
            ranges: [
              [0, 3],
              [0x5a, 0x1fe],
            ],
          }
        : {
            what: "FAT boot sector code",
            ranges: [
              [0, 3],
              [0x3e, 0x1fe],
            ],
          };
    case "ntfs":
      return {
        what: "NTFS boot sector code and IPL (sectors 1-15)",
        ranges: [
          [0, 3],
          [0x54, 0x1fe],
          [512, 8192],
        ],
      };
    case "exfat":
      return {
        what: "exFAT boot sector code",
        ranges: [
          [0, 3],
          [0x78, 0x1fe],
        ],
      };
    case "ext2":
    case "ext3":
    case "ext4":
    case "ext4dev":
      return { what: "ext boot block (first 1 KiB)", ranges: [[0, 1024]] };
    case "btrfs":
      return { what: "Btrfs boot area (first 64 KiB)", ranges: [[0, 64 * 1024]] };
    default:
      return null;
  }
}

/** Fingerprints the given ranges of a region; `null` when they do not fit in it. */
async function fingerprint(
  region: Region,
  what: string,
  ranges: Array<[number, number]>,
): Promise<BootCode | null> {
  const parts: Uint8Array[] = [];
  for (const [from, to] of ranges) {
    const bytes = await region.read(from, to - from);
    if (bytes === null) return null;
    parts.push(bytes);
  }
  const total = parts.reduce((n, p) => n + p.length, 0);
  const all = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  const first = ranges[0]?.[0] ?? 0;
  const last = ranges[ranges.length - 1]?.[1] ?? 0;
  return {
    what,
    offset: region.start + first,
    length: last - first,
    sha256: sha256Hex(all),
    empty: isZero(all),
  };
}

/** The MBR boot code area (bytes 0–439 of sector 0). */
export function mbrBootCode(code: Uint8Array): BootCode {
  return {
    what: "MBR boot code",
    offset: 0,
    length: code.length,
    sha256: sha256Hex(code),
    empty: isZero(code),
  };
}

/** The boot code fingerprint of a partition, when its filesystem has a boot code area. */
export async function partitionBootCode(
  reader: DiskReader,
  part: Partition,
): Promise<BootCode | null> {
  const plan = codeRanges(part);
  if (plan === null || part.start >= reader.size) return null;
  const region = new Region(reader, part.start, Math.min(part.length, reader.size - part.start));
  return fingerprint(region, plan.what, plan.ranges);
}
