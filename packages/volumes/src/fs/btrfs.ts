/**
 * Btrfs: the primary superblock at 64 KiB (field names after
 * `struct btrfs_super_block`). libblkid checks the magic only.
 */
import { hasMagic, le32, le64, slice } from "../bytes.js";
import { dceUuid, labelBytes } from "../strings.js";
import { findMagic, type Prober, Tags } from "./prober.js";

export const BTRFS_SUPERBLOCK_OFFSET = 64 * 1024;
const F = {
  fsid: 0x20,
  magic: 0x40,
  generation: 0x48,
  total_bytes: 0x70,
  sectorsize: 0x90,
  dev_item_uuid: 0xc9 + 0x42,
  label: 0x12b,
} as const;
const SB_READ = 0x12b + 256;

export interface BtrfsSuperblock {
  fsid: Uint8Array;
  generation: bigint;
  totalBytes: bigint;
  sectorSize: number;
  devUuid: Uint8Array;
  label: Uint8Array;
}

export function decodeBtrfsSuperblock(b: Uint8Array): BtrfsSuperblock | null {
  if (b.length < SB_READ || !hasMagic(b, F.magic, "_BHRfS_M")) return null;
  return {
    fsid: slice(b, F.fsid, 16),
    generation: le64(b, F.generation),
    totalBytes: le64(b, F.total_bytes),
    sectorSize: le32(b, F.sectorsize),
    devUuid: slice(b, F.dev_item_uuid, 16),
    label: slice(b, F.label, 256),
  };
}

export const BTRFS_PROBER: Prober = {
  type: "btrfs",
  usage: "filesystem",
  minSize: 1024 * 1024,
  async probe(region) {
    if ((await findMagic(region, [{ magic: "_BHRfS_M", kboff: 64, sboff: 0x40 }])) === null)
      return null;
    const bytes = await region.read(BTRFS_SUPERBLOCK_OFFSET, SB_READ);
    const sb = bytes === null ? null : decodeBtrfsSuperblock(bytes);
    if (sb === null) return null;
    const tags = new Tags();
    if (sb.label[0] !== 0) tags.set("LABEL", labelBytes(sb.label));
    tags.set("UUID", dceUuid(sb.fsid));
    tags.set("UUID_SUB", dceUuid(sb.devUuid));
    tags.set("BLOCK_SIZE", String(sb.sectorSize));
    return {
      tags: tags.values,
      details: {
        superblockOffset: BTRFS_SUPERBLOCK_OFFSET,
        generation: sb.generation.toString(),
        ...(sb.totalBytes <= BigInt(Number.MAX_SAFE_INTEGER)
          ? { fsSize: Number(sb.totalBytes) }
          : {}),
      },
    };
  },
};
