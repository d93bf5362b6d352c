/**
 * FAT12/16/32 (`vfat`): the boot sector's BPB, the root directory's volume
 * label entry, the FAT32 FSInfo sector. The validity test, the FAT12/16/32
 * decision (cluster count) and the label lookup follow libblkid, including
 * its 32-bit arithmetic.
 */
import { hasMagic, le16, le32, slice, u8 } from "../bytes.js";
import type { Region } from "../disk.js";
import { idLabelBytes, labelBytes } from "../strings.js";
import { isBitLocker } from "./bitlocker.js";
import type { FilesystemDetails } from "./details.js";
import { findMagic, type Magic, type Prober, Tags } from "./prober.js";

/** Byte offsets in the boot sector (BPB names after Microsoft's FAT specification). */
const F = {
  BS_OEMName: 0x03,
  BPB_BytsPerSec: 0x0b,
  BPB_SecPerClus: 0x0d,
  BPB_RsvdSecCnt: 0x0e,
  BPB_NumFATs: 0x10,
  BPB_RootEntCnt: 0x11,
  BPB_TotSec16: 0x13,
  BPB_Media: 0x15,
  BPB_FATSz16: 0x16,
  BPB_TotSec32: 0x20,
  // FAT12/16 extended BPB
  BS_NTReserved16: 0x25,
  BS_BootSig16: 0x26,
  BS_VolID16: 0x27,
  BS_VolLab16: 0x2b,
  BS_FilSysType16: 0x36,
  // FAT32 extended BPB
  BPB_FATSz32: 0x24,
  BPB_RootClus: 0x2c,
  BPB_FSInfo: 0x30,
  BS_NTReserved32: 0x41,
  BS_BootSig32: 0x42,
  BS_VolID32: 0x43,
  BS_VolLab32: 0x47,
  BS_FilSysType32: 0x52,
  Signature_word: 0x1fe,
} as const;

const FAT12_MAX = 0xff4;
const FAT16_MAX = 0xfff4;
const FAT32_MAX = 0x0ffffff6;
const ATTR_VOLUME_ID = 0x08;
const ATTR_DIRECTORY = 0x10;
const ATTR_LONG_NAME = 0x0f;
const ATTR_MASK = 0x3f;
const DIR_ENTRY = 32;
const ENTRY_FREE = 0xe5;
const NO_NAME = "NO NAME    ";
/** libblkid's bound on the FAT32 root directory's cluster chain. */
const MAX_ROOT_CLUSTERS = 99;
/** Regions up to this size are "tiny" to libblkid (floppies): it reads their root directory entry by entry. */
export const TINY_REGION = 1440 * 1024;

const VFAT_MAGICS: readonly Magic[] = [
  { magic: "MSWIN", sboff: 0x52 },
  { magic: "FAT32   ", sboff: 0x52 },
  { magic: "MSDOS", sboff: 0x36 },
  { magic: "FAT16   ", sboff: 0x36 },
  { magic: "FAT12   ", sboff: 0x36 },
  { magic: "FAT     ", sboff: 0x36 },
  { magic: "\xeb" },
  { magic: "\xe9" },
  { magic: "\x55\xaa", sboff: 0x1fe },
];

const isPowerOf2 = (n: number) => n !== 0 && (n & (n - 1)) === 0;
const u32 = (n: number) => n >>> 0;

/** The boot sector fields this package reads. */
export interface FatBootSector {
  bytesPerSector: number;
  sectorsPerCluster: number;
  reservedSectors: number;
  numFats: number;
  rootEntries: number;
  totalSectors16: number;
  media: number;
  fatSize16: number;
  totalSectors32: number;
  fatSize32: number;
  rootCluster: number;
  fsInfoSector: number;
  bootSig16: number;
  volId16: Uint8Array;
  volLabel16: Uint8Array;
  ntReserved16: number;
  bootSig32: number;
  volId32: Uint8Array;
  volLabel32: Uint8Array;
  ntReserved32: number;
  fileSystemType16: Uint8Array;
  signature55aa: boolean;
}

/** Decodes a 512-byte boot sector (no validity checks: see {@link fatGeometry}). */
export function decodeFatBootSector(b: Uint8Array): FatBootSector | null {
  if (b.length < 512) return null;
  return {
    bytesPerSector: le16(b, F.BPB_BytsPerSec),
    sectorsPerCluster: u8(b, F.BPB_SecPerClus),
    reservedSectors: le16(b, F.BPB_RsvdSecCnt),
    numFats: u8(b, F.BPB_NumFATs),
    rootEntries: le16(b, F.BPB_RootEntCnt),
    totalSectors16: le16(b, F.BPB_TotSec16),
    media: u8(b, F.BPB_Media),
    fatSize16: le16(b, F.BPB_FATSz16),
    totalSectors32: le32(b, F.BPB_TotSec32),
    fatSize32: le32(b, F.BPB_FATSz32),
    rootCluster: le32(b, F.BPB_RootClus),
    fsInfoSector: le16(b, F.BPB_FSInfo),
    bootSig16: u8(b, F.BS_BootSig16),
    volId16: slice(b, F.BS_VolID16, 4),
    volLabel16: slice(b, F.BS_VolLab16, 11),
    ntReserved16: u8(b, F.BS_NTReserved16),
    bootSig32: u8(b, F.BS_BootSig32),
    volId32: slice(b, F.BS_VolID32, 4),
    volLabel32: slice(b, F.BS_VolLab32, 11),
    ntReserved32: u8(b, F.BS_NTReserved32),
    fileSystemType16: slice(b, F.BS_FilSysType16, 8),
    signature55aa: u8(b, F.Signature_word) === 0x55 && u8(b, F.Signature_word + 1) === 0xaa,
  };
}

/** What libblkid derives from a BPB it accepts. */
export interface FatGeometry {
  clusterCount: number;
  /** Sectors of all FATs together. */
  fatSectors: number;
}

/**
 * libblkid's `fat_valid_superblock` (without its BitLocker test): the BPB
 * sanity checks and the cluster count, in 32-bit arithmetic; `null` when
 * the sector is not a FAT boot sector. `weakMagic` is true when only a jump
 * byte or the 0x55AA signature matched.
 */
export function fatGeometry(bs: FatBootSector, weakMagic: boolean): FatGeometry | null {
  if (weakMagic) {
    if (!bs.signature55aa) return null;
    // OS/2 and DFSee put a FAT-like pseudo boot sector in front of JFS and HPFS.
    const type = String.fromCharCode(...bs.fileSystemType16);
    if (type === "JFS     " || type === "HPFS    ") return null;
  }
  if (bs.numFats === 0 || bs.reservedSectors === 0) return null;
  if (!(bs.media >= 0xf8 || bs.media === 0xf0)) return null;
  if (!isPowerOf2(bs.sectorsPerCluster)) return null;
  const ss = bs.bytesPerSector;
  if (!isPowerOf2(ss) || ss < 512 || ss > 4096) return null;
  const sectCount = bs.totalSectors16 !== 0 ? bs.totalSectors16 : bs.totalSectors32;
  const fatLength = bs.fatSize16 !== 0 ? bs.fatSize16 : bs.fatSize32;
  const fatSectors = u32(Math.imul(fatLength, bs.numFats));
  const dirSectors = Math.floor((bs.rootEntries * DIR_ENTRY + (ss - 1)) / ss);
  const clusterCount = Math.floor(
    u32(sectCount - u32(bs.reservedSectors + fatSectors + dirSectors)) / bs.sectorsPerCluster,
  );
  const maxCount =
    bs.fatSize16 === 0 && bs.fatSize32 !== 0
      ? FAT32_MAX
      : clusterCount > FAT12_MAX
        ? FAT16_MAX
        : FAT12_MAX;
  if (clusterCount > maxCount) return null;
  return { clusterCount, fatSectors };
}

/**
 * The 11-byte volume label of the first volume-label entry of a directory
 * run, libblkid's way: stops at the end marker, skips deleted, long-name and
 * cluster-owning entries. Answers `"end"` when the run ended before one.
 */
export function findFatLabelEntry(dir: Uint8Array): Uint8Array | "end" | null {
  for (let off = 0; off + DIR_ENTRY <= dir.length; off += DIR_ENTRY) {
    const first = dir[off] as number;
    if (first === 0x00) return "end";
    const attr = dir[off + 11] as number;
    if (
      first === ENTRY_FREE ||
      le16(dir, off + 20) !== 0 ||
      le16(dir, off + 26) !== 0 ||
      (attr & ATTR_MASK) === ATTR_LONG_NAME
    )
      continue;
    if ((attr & (ATTR_VOLUME_ID | ATTR_DIRECTORY)) === ATTR_VOLUME_ID) {
      const name = dir.slice(off, off + 11);
      if (name[0] === 0x05) name[0] = 0xe5;
      return name;
    }
  }
  return null;
}

/**
 * Searches `entries` directory entries at `offset` for the label. libblkid
 * reads the whole directory at once on normal regions (nothing when it does
 * not fit) and entry by entry on tiny ones; both stop at the end marker,
 * which is where this stops reading too.
 */
async function searchLabel(
  region: Region,
  offset: number,
  entries: number,
): Promise<Uint8Array | null> {
  const total = entries * DIR_ENTRY;
  const tiny = region.size <= TINY_REGION;
  if (!tiny && offset + total > region.size) return null;
  const chunk = 512;
  for (let done = 0; done < total; done += chunk) {
    const length = Math.min(chunk, total - done);
    const bytes = await region.read(offset + done, length);
    if (bytes === null) {
      if (!tiny) return null;
      // Entry by entry: the entries that fit are still searched.
      const fit = Math.max(0, Math.floor((region.size - (offset + done)) / DIR_ENTRY)) * DIR_ENTRY;
      const partial = fit > 0 ? await region.read(offset + done, Math.min(fit, length)) : null;
      const found = partial === null ? null : findFatLabelEntry(partial);
      return found === "end" ? null : found;
    }
    const found = findFatLabelEntry(bytes);
    if (found === "end") return null;
    if (found !== null) return found;
  }
  return null;
}

interface FatFacts {
  version: string | null;
  bootLabel: Uint8Array | null;
  volumeLabel: Uint8Array | null;
  serial: Uint8Array | null;
  secType: string | null;
  unclean: string[];
}

async function fat16Facts(region: Region, bs: FatBootSector, geo: FatGeometry): Promise<FatFacts> {
  const ss = bs.bytesPerSector;
  const rootStart = u32(Math.imul(u32(bs.reservedSectors + geo.fatSectors), ss));
  const volumeLabel = await searchLabel(region, rootStart, bs.rootEntries);
  const version =
    geo.clusterCount < FAT12_MAX ? "FAT12" : geo.clusterCount < FAT16_MAX ? "FAT16" : null;
  const unclean: string[] = [];
  if (bs.ntReserved16 & 1)
    unclean.push("dirty bit set in the boot sector (mounted or not cleanly unmounted)");
  if (version === "FAT16") {
    const fat1 = await region.read(bs.reservedSectors * ss + 2, 2);
    if (fat1 !== null) {
      const v = le16(fat1, 0);
      if (!(v & 0x8000)) unclean.push("FAT[1] clean-shutdown bit cleared");
      if (!(v & 0x4000)) unclean.push("FAT[1] records I/O errors");
    }
  }
  return {
    version,
    bootLabel: bs.bootSig16 === 0x29 ? bs.volLabel16 : null,
    volumeLabel,
    serial: bs.bootSig16 === 0x28 || bs.bootSig16 === 0x29 ? bs.volId16 : null,
    secType: "msdos",
    unclean,
  };
}

async function fat32Facts(
  region: Region,
  bs: FatBootSector,
  geo: FatGeometry,
): Promise<FatFacts | null> {
  const ss = bs.bytesPerSector;
  const clusterBytes = u32(Math.imul(bs.sectorsPerCluster, ss));
  const startDataSect = u32(bs.reservedSectors + geo.fatSectors);
  const entries = u32(Math.floor((bs.fatSize32 * ss) / 4));
  let volumeLabel: Uint8Array | null = null;
  let next = bs.rootCluster;
  for (let loops = 0; next !== 0 && next < entries && loops < MAX_ROOT_CLUSTERS; loops++) {
    const sectOff = u32(Math.imul(u32(next - 2), bs.sectorsPerCluster));
    const offset = u32(startDataSect + sectOff) * ss;
    volumeLabel = await searchLabel(region, offset, Math.floor(clusterBytes / DIR_ENTRY));
    if (volumeLabel !== null) break;
    // libblkid reads a whole cluster's worth at the FAT entry; it must fit in the region.
    const entryOffset = bs.reservedSectors * ss + next * 4;
    if (entryOffset + clusterBytes > region.size || clusterBytes === 0) break;
    const entry = await region.read(entryOffset, 4);
    if (entry === null) break;
    next = le32(entry, 0) & 0x0fffffff;
  }
  if (bs.fsInfoSector !== 0) {
    const info = await region.read(bs.fsInfoSector * ss, 512);
    if (info === null) return null;
    const lead = String.fromCharCode(...info.subarray(0, 4));
    const struc = String.fromCharCode(...info.subarray(484, 488));
    if (lead !== "RRaA" && lead !== "RRdA" && lead !== "\0\0\0\0") return null;
    if (struc !== "rrAa" && struc !== "\0\0\0\0") return null;
  }
  const unclean: string[] = [];
  if (bs.ntReserved32 & 1)
    unclean.push("dirty bit set in the boot sector (mounted or not cleanly unmounted)");
  const fat1 = await region.read(bs.reservedSectors * ss + 4, 4);
  if (fat1 !== null) {
    const v = le32(fat1, 0);
    if (!(v & 0x08000000)) unclean.push("FAT[1] clean-shutdown bit cleared");
    if (!(v & 0x04000000)) unclean.push("FAT[1] records I/O errors");
  }
  return {
    version: "FAT32",
    bootLabel: bs.bootSig32 === 0x29 ? bs.volLabel32 : null,
    volumeLabel,
    serial: bs.volId32,
    secType: null,
    unclean,
  };
}

/** Reads and validates the boot sector; the BitLocker test comes last, as in libblkid. */
async function validBootSector(
  region: Region,
): Promise<{ bs: FatBootSector; geo: FatGeometry } | null> {
  const found = await findMagic(region, VFAT_MAGICS);
  if (found === null) return null;
  const sector = await region.read(0, 512);
  const bs = sector === null ? null : decodeFatBootSector(sector);
  if (bs === null) return null;
  const geo = fatGeometry(bs, found.magic.magic.length <= 2);
  if (geo === null || (await isBitLocker(region))) return null;
  return { bs, geo };
}

/** libblkid's `blkid_probe_is_vfat`: the MBR reader asks it whether sector 0 is a FAT boot sector. */
export async function isFatBootSector(region: Region): Promise<boolean> {
  return (await validBootSector(region)) !== null;
}

export const VFAT_PROBER: Prober = {
  type: "vfat",
  usage: "filesystem",
  async probe(region) {
    const valid = await validBootSector(region);
    if (valid === null) return null;
    const { bs, geo } = valid;
    let facts: FatFacts | null;
    if (bs.fatSize16 !== 0) facts = await fat16Facts(region, bs, geo);
    else if (bs.fatSize32 !== 0) facts = await fat32Facts(region, bs, geo);
    else
      facts = {
        version: null,
        bootLabel: null,
        volumeLabel: null,
        serial: null,
        secType: null,
        unclean: [],
      };
    if (facts === null) return null;
    const tags = new Tags();
    tags.set("SEC_TYPE", facts.secType);
    if (facts.bootLabel !== null && String.fromCharCode(...facts.bootLabel) !== NO_NAME)
      tags.set("LABEL_FATBOOT", idLabelBytes(facts.bootLabel));
    if (facts.volumeLabel !== null) tags.set("LABEL", labelBytes(facts.volumeLabel));
    const s = facts.serial;
    if (s !== null && (s[0] || s[1] || s[2] || s[3])) tags.set("UUID", fatSerial(s));
    tags.set("VERSION", facts.version);
    tags.set("BLOCK_SIZE", String(bs.bytesPerSector));
    const details: FilesystemDetails = {
      superblockOffset: 0,
      state: facts.unclean.length === 0 ? "clean" : "dirty",
    };
    if (facts.unclean.length > 0) details.unclean = facts.unclean;
    const total = bs.totalSectors16 !== 0 ? bs.totalSectors16 : bs.totalSectors32;
    details.fsSize = total * bs.bytesPerSector;
    return { tags: tags.values, details };
  },
};

/** A FAT/exFAT volume serial as libblkid prints it: "ABCD-1234" (bytes 3,2 - 1,0). */
export function fatSerial(s: Uint8Array): string {
  const h = (i: number) => (s[i] ?? 0).toString(16).padStart(2, "0").toUpperCase();
  return `${h(3)}${h(2)}-${h(1)}${h(0)}`;
}

/** Whether `b` (sector 0) carries the FAT boot-sector magic at any of libblkid's places. */
export function hasFatMagic(b: Uint8Array): boolean {
  return VFAT_MAGICS.some((m) => hasMagic(b, m.sboff ?? 0, m.magic));
}
