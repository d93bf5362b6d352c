/**
 * exFAT: the main boot sector and the root directory's volume label entry
 * (field names after Microsoft's exFAT specification). The label walk and
 * its shift arithmetic follow libblkid.
 */
import { le16, le32, le64, slice, u8 } from "../bytes.js";
import type { Region } from "../disk.js";
import { utf8LabelBytes } from "../strings.js";
import type { FilesystemDetails } from "./details.js";
import { fatSerial } from "./fat.js";
import { findMagic, type Prober, Tags } from "./prober.js";

const F = {
  VolumeLength: 0x48,
  FatOffset: 0x50,
  ClusterHeapOffset: 0x58,
  FirstClusterOfRootDirectory: 0x60,
  VolumeSerialNumber: 0x64,
  FileSystemRevision: 0x68,
  VolumeFlags: 0x6a,
  BytesPerSectorShift: 0x6c,
  SectorsPerClusterShift: 0x6d,
} as const;

const ENTRY_SIZE = 32;
const ENTRY_EOD = 0x00;
const ENTRY_LABEL = 0x83;
const FIRST_DATA_CLUSTER = 2;
const LAST_DATA_CLUSTER = 0xffffff6;
/** libblkid's bound on directory entries searched for the label. */
const MAX_ENTRIES = 10000;
const VOLUME_DIRTY = 0x2;
const MEDIA_FAILURE = 0x4;
const U64 = (1n << 64n) - 1n;

export interface ExfatBootSector {
  volumeLength: bigint;
  fatOffset: number;
  clusterHeapOffset: number;
  rootCluster: number;
  serial: Uint8Array;
  revisionMajor: number;
  revisionMinor: number;
  volumeFlags: number;
  bytesPerSectorShift: number;
  sectorsPerClusterShift: number;
}

export function decodeExfatBootSector(b: Uint8Array): ExfatBootSector | null {
  if (b.length < 0x71) return null;
  return {
    volumeLength: le64(b, F.VolumeLength),
    fatOffset: le32(b, F.FatOffset),
    clusterHeapOffset: le32(b, F.ClusterHeapOffset),
    rootCluster: le32(b, F.FirstClusterOfRootDirectory),
    serial: slice(b, F.VolumeSerialNumber, 4),
    revisionMinor: u8(b, F.FileSystemRevision),
    revisionMajor: u8(b, F.FileSystemRevision + 1),
    volumeFlags: le16(b, F.VolumeFlags),
    bytesPerSectorShift: u8(b, F.BytesPerSectorShift),
    sectorsPerClusterShift: u8(b, F.SectorsPerClusterShift),
  };
}

// libblkid computes these in 32- and 64-bit C arithmetic; an x86 shift uses the count modulo the width.
const blockSize = (bs: ExfatBootSector) => (1 << (bs.bytesPerSectorShift & 31)) >>> 0;
const clusterSize = (bs: ExfatBootSector) =>
  (blockSize(bs) << (bs.sectorsPerClusterShift & 31)) >>> 0;
const shl64 = (v: bigint, n: number) => (v << BigInt(n & 63)) & U64;

function clusterOffset(bs: ExfatBootSector, cluster: number): bigint {
  const block =
    (BigInt(bs.clusterHeapOffset) +
      shl64(BigInt((cluster - FIRST_DATA_CLUSTER) >>> 0), bs.sectorsPerClusterShift)) &
    U64;
  return shl64(block, bs.bytesPerSectorShift);
}

async function nextCluster(region: Region, bs: ExfatBootSector, cluster: number): Promise<number> {
  const fat = (shl64(BigInt(bs.fatOffset), bs.bytesPerSectorShift) + BigInt(cluster) * 4n) & U64;
  const bytes = await region.readAt(fat, 4);
  return bytes === null ? 0 : le32(bytes, 0);
}

/** The volume label entry's name bytes (UTF-16LE, `length` characters), or `null`. */
async function findLabel(region: Region, bs: ExfatBootSector): Promise<Uint8Array | null> {
  let cluster = bs.rootCluster;
  let offset = clusterOffset(bs, cluster);
  const csize = BigInt(clusterSize(bs));
  for (let i = 0; i < MAX_ENTRIES; i++) {
    const entry = await region.readAt(offset, ENTRY_SIZE);
    if (entry === null || entry[0] === ENTRY_EOD) return null;
    if (entry[0] === ENTRY_LABEL) return slice(entry, 2, Math.min(u8(entry, 1) * 2, 22));
    offset = (offset + BigInt(ENTRY_SIZE)) & U64;
    if (offset % csize === 0n) {
      cluster = await nextCluster(region, bs, cluster);
      if (cluster < FIRST_DATA_CLUSTER || cluster > LAST_DATA_CLUSTER) return null;
      offset = clusterOffset(bs, cluster);
    }
  }
  return null;
}

export const EXFAT_PROBER: Prober = {
  type: "exfat",
  usage: "filesystem",
  async probe(region) {
    if ((await findMagic(region, [{ magic: "EXFAT   ", sboff: 3 }])) === null) return null;
    const sector = await region.read(0, 0x71);
    const bs = sector === null ? null : decodeExfatBootSector(sector);
    if (bs === null || clusterSize(bs) === 0) return null;
    const label = await findLabel(region, bs);
    const tags = new Tags();
    if (label !== null) tags.set("LABEL", utf8LabelBytes(label, "le"));
    const s = bs.serial;
    if (s[0] || s[1] || s[2] || s[3]) tags.set("UUID", fatSerial(s));
    tags.set("VERSION", `${bs.revisionMajor}.${bs.revisionMinor}`);
    tags.set("BLOCK_SIZE", String(blockSize(bs)));
    const unclean: string[] = [];
    if (bs.volumeFlags & VOLUME_DIRTY)
      unclean.push("VolumeDirty flag set (mounted or not cleanly unmounted)");
    if (bs.volumeFlags & MEDIA_FAILURE) unclean.push("MediaFailure flag set");
    const details: FilesystemDetails = {
      superblockOffset: 0,
      state: unclean.length === 0 ? "clean" : "dirty",
    };
    if (unclean.length > 0) details.unclean = unclean;
    const size = bs.volumeLength * BigInt(blockSize(bs));
    if (size <= BigInt(Number.MAX_SAFE_INTEGER)) details.fsSize = Number(size);
    return { tags: tags.values, details };
  },
};
