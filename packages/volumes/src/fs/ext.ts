/**
 * ext2/3/4 (and ext4dev, jbd): the superblock at 1 KiB. Field names follow
 * the kernel's `struct ext4_super_block`; the type decision follows
 * libblkid's feature-flag rules, the state and times follow dumpe2fs.
 */
import { hasMagic, le16, le32, slice, u8 } from "../bytes.js";
import type { Region } from "../disk.js";
import { cString, dceUuid, displayString, labelBytes } from "../strings.js";
import type { FilesystemDetails } from "./details.js";
import { findMagic, type ProbeHit, type Prober, Tags } from "./prober.js";

export const EXT_SUPERBLOCK_OFFSET = 1024;
export const EXT_SUPERBLOCK_SIZE = 1024;
const EXT_MAGIC = "\x53\xef";

/** Byte offsets inside the superblock (kernel names). */
const F = {
  s_blocks_count_lo: 0x04,
  s_log_block_size: 0x18,
  s_mtime: 0x2c,
  s_wtime: 0x30,
  s_magic: 0x38,
  s_state: 0x3a,
  s_minor_rev_level: 0x3e,
  s_rev_level: 0x4c,
  s_feature_compat: 0x5c,
  s_feature_incompat: 0x60,
  s_feature_ro_compat: 0x64,
  s_uuid: 0x68,
  s_volume_name: 0x78,
  s_last_mounted: 0x88,
  s_journal_uuid: 0xd0,
  s_mkfs_time: 0x108,
  s_blocks_count_hi: 0x150,
  s_flags: 0x160,
  s_error_count: 0x194,
  s_wtime_hi: 0x274,
  s_mtime_hi: 0x275,
  s_mkfs_time_hi: 0x276,
} as const;

const EXT2_VALID_FS = 0x1;
const EXT2_ERROR_FS = 0x2;
const EXT2_FLAGS_TEST_FILESYS = 0x4;
const COMPAT_HAS_JOURNAL = 0x4;
const INCOMPAT_FILETYPE = 0x2;
const INCOMPAT_RECOVER = 0x4;
const INCOMPAT_JOURNAL_DEV = 0x8;
const INCOMPAT_META_BG = 0x10;
const INCOMPAT_64BIT = 0x80;
const RO_COMPAT_SPARSE_SUPER = 0x1;
const RO_COMPAT_LARGE_FILE = 0x2;
const RO_COMPAT_BTREE_DIR = 0x4;
// libblkid: what ext2 and ext3 "understand"; anything else makes it ext4.
const EXT2_RO_SUPP = RO_COMPAT_SPARSE_SUPER | RO_COMPAT_LARGE_FILE | RO_COMPAT_BTREE_DIR;
const EXT2_INCOMPAT_SUPP = INCOMPAT_FILETYPE | INCOMPAT_META_BG;
const EXT3_RO_SUPP = EXT2_RO_SUPP;
const EXT3_INCOMPAT_SUPP = INCOMPAT_FILETYPE | INCOMPAT_RECOVER | INCOMPAT_META_BG;

/** The decoded superblock (only what this package reports). */
export interface ExtSuperblock {
  blocksCount: number;
  logBlockSize: number;
  mtime: number;
  wtime: number;
  mkfsTime: number;
  state: number;
  minorRevLevel: number;
  revLevel: number;
  featureCompat: number;
  featureIncompat: number;
  featureRoCompat: number;
  uuid: Uint8Array;
  volumeName: Uint8Array;
  lastMounted: Uint8Array;
  journalUuid: Uint8Array;
  flags: number;
  errorCount: number;
}

/** Decodes the 1024-byte superblock (bytes at offset 1024 of the filesystem); `null` without the magic. */
export function decodeExtSuperblock(sb: Uint8Array): ExtSuperblock | null {
  if (sb.length < EXT_SUPERBLOCK_SIZE || !hasMagic(sb, F.s_magic, EXT_MAGIC)) return null;
  const time = (lo: number, hi: number) => le32(sb, lo) + u8(sb, hi) * 2 ** 32;
  const incompat = le32(sb, F.s_feature_incompat);
  return {
    blocksCount:
      le32(sb, F.s_blocks_count_lo) +
      (incompat & INCOMPAT_64BIT ? le32(sb, F.s_blocks_count_hi) * 2 ** 32 : 0),
    logBlockSize: le32(sb, F.s_log_block_size),
    mtime: time(F.s_mtime, F.s_mtime_hi),
    wtime: time(F.s_wtime, F.s_wtime_hi),
    mkfsTime: time(F.s_mkfs_time, F.s_mkfs_time_hi),
    state: le16(sb, F.s_state),
    minorRevLevel: le16(sb, F.s_minor_rev_level),
    revLevel: le32(sb, F.s_rev_level),
    featureCompat: le32(sb, F.s_feature_compat),
    featureIncompat: incompat,
    featureRoCompat: le32(sb, F.s_feature_ro_compat),
    uuid: slice(sb, F.s_uuid, 16),
    volumeName: slice(sb, F.s_volume_name, 16),
    lastMounted: slice(sb, F.s_last_mounted, 64),
    journalUuid: slice(sb, F.s_journal_uuid, 16),
    flags: le32(sb, F.s_flags),
    errorCount: le32(sb, F.s_error_count),
  };
}

/** Every ext type libblkid would report for this superblock, in its probe order. */
export function extTypes(sb: ExtSuperblock): string[] {
  const fc = sb.featureCompat;
  const fi = sb.featureIncompat;
  const frc = sb.featureRoCompat;
  const journalDev = (fi & INCOMPAT_JOURNAL_DEV) !== 0;
  const test = (sb.flags & EXT2_FLAGS_TEST_FILESYS) !== 0;
  const beyondExt3 = (frc & ~EXT3_RO_SUPP) !== 0 || (fi & ~EXT3_INCOMPAT_SUPP) !== 0;
  const out: string[] = [];
  if (!journalDev && test) out.push("ext4dev");
  if (!journalDev && beyondExt3 && !test) out.push("ext4");
  if (fc & COMPAT_HAS_JOURNAL && !beyondExt3) out.push("ext3");
  if (!(fc & COMPAT_HAS_JOURNAL) && !(frc & ~EXT2_RO_SUPP) && !(fi & ~EXT2_INCOMPAT_SUPP))
    out.push("ext2");
  if (journalDev) out.push("jbd");
  return out;
}

/** The state words as dumpe2fs prints them ("clean", "not clean with errors"). */
export function extStateWords(state: number): string {
  const base = state & EXT2_VALID_FS ? "clean" : "not clean";
  return state & EXT2_ERROR_FS ? `${base} with errors` : base;
}

const COMPAT_NAMES: Record<number, string> = {
  0: "dir_prealloc",
  1: "imagic_inodes",
  2: "has_journal",
  3: "ext_attr",
  4: "resize_inode",
  5: "dir_index",
  6: "lazy_bg",
  7: "snapshot_bitmap",
  8: "sparse_super2",
  9: "fast_commit",
  10: "stable_inodes",
  11: "orphan_file",
};
const INCOMPAT_NAMES: Record<number, string> = {
  0: "compression",
  1: "filetype",
  2: "needs_recovery",
  3: "journal_dev",
  4: "meta_bg",
  6: "extent",
  7: "64bit",
  8: "mmp",
  9: "flex_bg",
  10: "ea_inode",
  12: "dirdata",
  13: "metadata_csum_seed",
  14: "large_dir",
  15: "inline_data",
  16: "encrypt",
  17: "casefold",
};
const RO_COMPAT_NAMES: Record<number, string> = {
  0: "sparse_super",
  1: "large_file",
  2: "btree_dir",
  3: "huge_file",
  4: "uninit_bg",
  5: "dir_nlink",
  6: "extra_isize",
  7: "snapshot",
  8: "quota",
  9: "bigalloc",
  10: "metadata_csum",
  11: "replica",
  12: "read-only",
  13: "project",
  14: "shared_blocks",
  15: "verity",
  16: "orphan_present",
};

/** Feature names in dumpe2fs's order (compat, incompat, ro_compat; unknown bits as FEATURE_<C|I|R><bit>). */
export function extFeatureNames(sb: ExtSuperblock): string[] {
  const out: string[] = [];
  const words: Array<[number, Record<number, string>, string]> = [
    [sb.featureCompat, COMPAT_NAMES, "C"],
    [sb.featureIncompat, INCOMPAT_NAMES, "I"],
    [sb.featureRoCompat, RO_COMPAT_NAMES, "R"],
  ];
  for (const [word, names, letter] of words)
    for (let bit = 0; bit < 32; bit++)
      if (word & (1 << bit)) out.push(names[bit] ?? `FEATURE_${letter}${bit}`);
  return out;
}

function extHit(type: string, sb: ExtSuperblock): ProbeHit {
  const tags = new Tags();
  if ((sb.volumeName[0] ?? 0) !== 0) tags.set("LABEL", labelBytes(sb.volumeName));
  tags.set("UUID", dceUuid(sb.uuid));
  if (sb.featureCompat & COMPAT_HAS_JOURNAL) tags.set("EXT_JOURNAL", dceUuid(sb.journalUuid));
  if (type === "jbd") tags.set("LOGUUID", dceUuid(sb.uuid));
  // libblkid marks everything but ext2 and jbd as mountable as ext2 when the incompat bits allow it.
  if (type !== "ext2" && type !== "jbd" && (sb.featureIncompat & ~EXT2_INCOMPAT_SUPP) === 0)
    tags.set("SEC_TYPE", "ext2");
  tags.set("VERSION", `${sb.revLevel}.${sb.minorRevLevel}`);
  if (sb.logBlockSize < 32) tags.set("BLOCK_SIZE", String(2 ** (10 + sb.logBlockSize)));
  const unclean: string[] = [];
  if (sb.state & EXT2_ERROR_FS) unclean.push("marked as having errors (s_state)");
  if (!(sb.state & EXT2_VALID_FS)) unclean.push("not cleanly unmounted (s_state)");
  if (sb.featureIncompat & INCOMPAT_RECOVER)
    unclean.push("journal needs recovery (mounted or not cleanly unmounted)");
  if (sb.errorCount > 0) unclean.push(`${sb.errorCount} error(s) recorded (s_error_count)`);
  const details: FilesystemDetails = {
    state: extStateWords(sb.state),
    superblockOffset: EXT_SUPERBLOCK_OFFSET,
    features: extFeatureNames(sb),
  };
  if (sb.mkfsTime !== 0) details.created = sb.mkfsTime;
  if (sb.mtime !== 0) details.lastMounted = sb.mtime;
  if (sb.wtime !== 0) details.lastWritten = sb.wtime;
  const mountedOn = cString(sb.lastMounted);
  if (mountedOn.length > 0) details.lastMountedOn = displayString(mountedOn);
  if (unclean.length > 0) details.unclean = unclean;
  if (sb.logBlockSize < 32) {
    const size = sb.blocksCount * 2 ** (10 + sb.logBlockSize);
    if (Number.isSafeInteger(size)) details.fsSize = size;
  }
  return { tags: tags.values, details };
}

async function readSuperblock(region: Region): Promise<ExtSuperblock | null> {
  if ((await findMagic(region, [{ magic: EXT_MAGIC, kboff: 1, sboff: 0x38 }])) === null)
    return null;
  const bytes = await region.read(EXT_SUPERBLOCK_OFFSET, EXT_SUPERBLOCK_SIZE);
  return bytes === null ? null : decodeExtSuperblock(bytes);
}

function extProber(type: "ext4dev" | "ext4" | "ext3" | "ext2" | "jbd"): Prober {
  return {
    type,
    usage: type === "jbd" ? "other" : "filesystem",
    async probe(region) {
      const sb = await readSuperblock(region);
      return sb !== null && extTypes(sb).includes(type) ? extHit(type, sb) : null;
    },
  };
}

/** The ext probers in libblkid's order. */
export const EXT_PROBERS: readonly Prober[] = (
  ["ext4dev", "ext4", "ext3", "ext2", "jbd"] as const
).map(extProber);
