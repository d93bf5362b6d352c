/**
 * XFS: the primary superblock at offset 0 (big-endian, field names after
 * `struct xfs_sb`), accepted by libblkid's sanity checks.
 */
import { be16, be32, be64, hasMagic, slice, u8 } from "../bytes.js";
import { dceUuid, labelBytes } from "../strings.js";
import { findMagic, type Prober, Tags } from "./prober.js";

const F = {
  sb_magicnum: 0,
  sb_blocksize: 4,
  sb_dblocks: 8,
  sb_uuid: 32,
  sb_rextsize: 80,
  sb_agblocks: 84,
  sb_agcount: 88,
  sb_sectsize: 102,
  sb_inodesize: 104,
  sb_fname: 108,
  sb_blocklog: 120,
  sb_sectlog: 121,
  sb_inodelog: 122,
  sb_inopblog: 123,
  sb_imax_pct: 127,
} as const;
const SB_SIZE = 128;

export interface XfsSuperblock {
  blockSize: number;
  dblocks: bigint;
  uuid: Uint8Array;
  rextsize: number;
  agblocks: number;
  agcount: number;
  sectSize: number;
  inodeSize: number;
  fname: Uint8Array;
  blockLog: number;
  sectLog: number;
  inodeLog: number;
  inopbLog: number;
  imaxPct: number;
}

export function decodeXfsSuperblock(b: Uint8Array): XfsSuperblock | null {
  if (b.length < SB_SIZE || !hasMagic(b, F.sb_magicnum, "XFSB")) return null;
  return {
    blockSize: be32(b, F.sb_blocksize),
    dblocks: be64(b, F.sb_dblocks),
    uuid: slice(b, F.sb_uuid, 16),
    rextsize: be32(b, F.sb_rextsize),
    agblocks: be32(b, F.sb_agblocks),
    agcount: be32(b, F.sb_agcount),
    sectSize: be16(b, F.sb_sectsize),
    inodeSize: be16(b, F.sb_inodesize),
    fname: slice(b, F.sb_fname, 12),
    blockLog: u8(b, F.sb_blocklog),
    sectLog: u8(b, F.sb_sectlog),
    inodeLog: u8(b, F.sb_inodelog),
    inopbLog: u8(b, F.sb_inopblog),
    imaxPct: u8(b, F.sb_imax_pct),
  };
}

/** libblkid's `xfs_verify_sb` (its 32-bit product for the realtime extent size included). */
export function xfsSuperblockValid(sb: XfsSuperblock): boolean {
  const rtext = Math.imul(sb.rextsize, sb.blockSize) >>> 0;
  const maxDblocks = BigInt(sb.agcount) * BigInt(sb.agblocks);
  const minDblocks =
    (BigInt((sb.agcount - 1) >>> 0) * BigInt(sb.agblocks) + 64n) & ((1n << 64n) - 1n);
  return !(
    sb.agcount === 0 ||
    sb.sectSize < 512 ||
    sb.sectSize > 32768 ||
    sb.sectLog < 9 ||
    sb.sectLog > 15 ||
    sb.sectSize !== 2 ** sb.sectLog ||
    sb.blockSize < 512 ||
    sb.blockSize > 65536 ||
    sb.blockLog < 9 ||
    sb.blockLog > 16 ||
    sb.blockSize !== 2 ** sb.blockLog ||
    sb.inodeSize < 256 ||
    sb.inodeSize > 2048 ||
    sb.inodeLog < 8 ||
    sb.inodeLog > 11 ||
    sb.inodeSize !== 2 ** sb.inodeLog ||
    sb.blockLog - sb.inodeLog !== sb.inopbLog ||
    rtext > 1024 * 1024 * 1024 ||
    rtext < 4 * 1024 ||
    sb.imaxPct > 100 ||
    sb.dblocks === 0n ||
    sb.dblocks > maxDblocks ||
    sb.dblocks < minDblocks
  );
}

export const XFS_PROBER: Prober = {
  type: "xfs",
  usage: "filesystem",
  async probe(region) {
    if ((await findMagic(region, [{ magic: "XFSB" }])) === null) return null;
    const bytes = await region.read(0, SB_SIZE);
    const sb = bytes === null ? null : decodeXfsSuperblock(bytes);
    if (sb === null || !xfsSuperblockValid(sb)) return null;
    const tags = new Tags();
    if (sb.fname[0] !== 0) tags.set("LABEL", labelBytes(sb.fname));
    tags.set("UUID", dceUuid(sb.uuid));
    tags.set("BLOCK_SIZE", String(sb.sectSize));
    const size = sb.dblocks * BigInt(sb.blockSize);
    return {
      tags: tags.values,
      details: {
        superblockOffset: 0,
        ...(size <= BigInt(Number.MAX_SAFE_INTEGER) ? { fsSize: Number(size) } : {}),
      },
    };
  },
};
