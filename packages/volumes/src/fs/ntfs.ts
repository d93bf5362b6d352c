/**
 * NTFS: the boot sector's BPB and the `$Volume` file (MFT record 3), whose
 * `$VOLUME_NAME` attribute is the label. Validation and the label read
 * follow libblkid (which reads the record without applying its update
 * sequence fixups, so neither does the label here); the `$VOLUME_INFORMATION`
 * dirty flag and `$STANDARD_INFORMATION` creation time are read from a
 * fixed-up copy.
 */
import { hasMagic, le16, le32, le64, u8 } from "../bytes.js";
import type { Region } from "../disk.js";
import { utf8LabelBytes } from "../strings.js";
import type { FilesystemDetails } from "./details.js";
import { findMagic, type Prober, Tags } from "./prober.js";

const F = {
  bytes_per_sector: 0x0b,
  sectors_per_cluster: 0x0d,
  reserved_sectors: 0x0e,
  fats: 0x10,
  root_entries: 0x11,
  sectors: 0x13,
  sectors_per_fat: 0x16,
  large_sectors: 0x20,
  number_of_sectors: 0x28,
  mft_lcn: 0x30,
  mftmirr_lcn: 0x38,
  clusters_per_mft_record: 0x40,
  volume_serial_number: 0x48,
} as const;

/** Windows 10 allows clusters up to 2 MiB. */
const MAX_CLUSTER_SIZE = 2 * 1024 * 1024;
const MFT_RECORD_VOLUME = 3;
const AT_STANDARD_INFORMATION = 0x10;
const AT_VOLUME_NAME = 0x60;
const AT_VOLUME_INFORMATION = 0x70;
const AT_END = 0xffffffff;
const VOLUME_IS_DIRTY = 0x0001;
/** Most of one MFT record read: real records are 1 or 4 KiB; the BPB may claim 128 MiB. */
const MAX_RECORD_READ = 64 * 1024;
/** FILETIME (100 ns since 1601) of the Unix epoch. */
const FILETIME_UNIX_EPOCH = 116444736000000000n;

export interface NtfsBootSector {
  bytesPerSector: number;
  sectorsPerCluster: number;
  mftRecordSize: number;
  numberOfSectors: bigint;
  mftLcn: bigint;
  mftMirrLcn: bigint;
  volumeSerial: bigint;
}

/** libblkid's BPB checks; `null` when the sector is not an NTFS boot sector it accepts. */
export function decodeNtfsBootSector(b: Uint8Array): NtfsBootSector | null {
  if (b.length < 0x54 || !hasMagic(b, 3, "NTFS    ")) return null;
  const ss = le16(b, F.bytes_per_sector);
  if (ss < 256 || ss > 4096) return null;
  const rawSpc = u8(b, F.sectors_per_cluster);
  let spc: number;
  if ([1, 2, 4, 8, 16, 32, 64, 128].includes(rawSpc)) spc = rawSpc;
  else if (rawSpc >= 240 && rawSpc <= 249) spc = 2 ** (256 - rawSpc);
  else return null;
  if (ss * spc > MAX_CLUSTER_SIZE) return null;
  if (
    le16(b, F.reserved_sectors) ||
    le16(b, F.root_entries) ||
    le16(b, F.sectors) ||
    le16(b, F.sectors_per_fat) ||
    le32(b, F.large_sectors) ||
    u8(b, F.fats)
  )
    return null;
  const cpmrRaw = u8(b, F.clusters_per_mft_record);
  const cpmr = cpmrRaw > 127 ? cpmrRaw - 256 : cpmrRaw;
  if (cpmrRaw < 0xe1 || cpmrRaw > 0xf7) {
    if (![1, 2, 4, 8, 16, 32, 64].includes(cpmr)) return null;
  }
  const mftRecordSize = cpmr > 0 ? cpmr * spc * ss : 2 ** -cpmr;
  const numberOfSectors = le64(b, F.number_of_sectors);
  const nrClusters = numberOfSectors / BigInt(spc);
  const mftLcn = le64(b, F.mft_lcn);
  const mftMirrLcn = le64(b, F.mftmirr_lcn);
  if (mftLcn > nrClusters || mftMirrLcn > nrClusters) return null;
  if (mftRecordSize < 4) return null;
  return {
    bytesPerSector: ss,
    sectorsPerCluster: spc,
    mftRecordSize,
    numberOfSectors,
    mftLcn,
    mftMirrLcn,
    volumeSerial: le64(b, F.volume_serial_number),
  };
}

/** Reads the start of an MFT record when the whole record lies in the region, as libblkid requires. */
async function readRecord(
  region: Region,
  offset: bigint,
  size: number,
): Promise<Uint8Array | null> {
  if (offset + BigInt(size) > BigInt(region.size)) return null;
  return region.readAt(offset, Math.min(size, MAX_RECORD_READ));
}

interface Attribute {
  type: number;
  offset: number;
  nonResident: boolean;
  valueOffset: number;
  valueLength: number;
}

/** The attributes of a record, libblkid's walk: bounded by the record size and `bytes_allocated`. */
function attributes(record: Uint8Array, recordSize: number): Attribute[] {
  const out: Attribute[] = [];
  const allocated = le32(record, 0x1c);
  let off = le16(record, 0x14);
  // 22 bytes: the resident attribute header as libblkid declares it.
  while (off + 22 <= recordSize && off + 22 <= record.length && off <= allocated) {
    const type = le32(record, off);
    const len = le32(record, off + 4);
    if (len === 0 || type === AT_END) break;
    out.push({
      type,
      offset: off,
      nonResident: u8(record, off + 8) !== 0,
      valueLength: le32(record, off + 0x10),
      valueOffset: le16(record, off + 0x14),
    });
    off += len;
  }
  return out;
}

/** The record with its update sequence applied (a copy), or `null` when the sequence does not check. */
function fixedUp(record: Uint8Array): Uint8Array | null {
  const usaOfs = le16(record, 4);
  const usaCount = le16(record, 6);
  if (usaCount === 0 || usaOfs + usaCount * 2 > record.length) return null;
  const out = record.slice();
  for (let i = 1; i < usaCount; i++) {
    const end = i * 512 - 2;
    if (end + 2 > out.length) break;
    if (out[end] !== out[usaOfs] || out[end + 1] !== out[usaOfs + 1]) return null;
    out[end] = out[usaOfs + i * 2] as number;
    out[end + 1] = out[usaOfs + i * 2 + 1] as number;
  }
  return out;
}

const fileTimeToUnix = (ft: bigint): number | null =>
  ft <= FILETIME_UNIX_EPOCH ? null : Number((ft - FILETIME_UNIX_EPOCH) / 10_000_000n);

interface NtfsVolume {
  bs: NtfsBootSector;
  volumeRecord: Uint8Array;
}

async function readVolume(region: Region): Promise<NtfsVolume | null> {
  if ((await findMagic(region, [{ magic: "NTFS    ", sboff: 3 }])) === null) return null;
  const sector = await region.read(0, 0x54);
  const bs = sector === null ? null : decodeNtfsBootSector(sector);
  if (bs === null) return null;
  const mft =
    (bs.mftLcn * BigInt(bs.bytesPerSector) * BigInt(bs.sectorsPerCluster)) & ((1n << 64n) - 1n);
  const first = await readRecord(region, mft, bs.mftRecordSize);
  if (first === null || !hasMagic(first, 0, "FILE")) return null;
  const volumeAt = mft + BigInt(MFT_RECORD_VOLUME * bs.mftRecordSize);
  const volumeRecord = await readRecord(region, volumeAt, bs.mftRecordSize);
  if (volumeRecord === null || !hasMagic(volumeRecord, 0, "FILE")) return null;
  return { bs, volumeRecord };
}

/** libblkid's `blkid_probe_is_ntfs`: the MBR reader asks whether sector 0 is an NTFS boot sector. */
export async function isNtfsBootSector(region: Region): Promise<boolean> {
  return (await readVolume(region)) !== null;
}

export const NTFS_PROBER: Prober = {
  type: "ntfs",
  usage: "filesystem",
  async probe(region) {
    const vol = await readVolume(region);
    // libblkid's NTFS prober has no BitLocker test of its own; BitLocker's "-FVE-FS-" OEM id never matches "NTFS    ".
    if (vol === null) return null;
    const { bs, volumeRecord } = vol;
    const tags = new Tags();
    for (const attr of attributes(volumeRecord, bs.mftRecordSize)) {
      if (attr.type !== AT_VOLUME_NAME) continue;
      const start = attr.offset + attr.valueOffset;
      if (
        start + attr.valueLength <= bs.mftRecordSize &&
        start + attr.valueLength <= volumeRecord.length
      )
        tags.set(
          "LABEL",
          utf8LabelBytes(volumeRecord.subarray(start, start + attr.valueLength), "le"),
        );
      break;
    }
    tags.set("BLOCK_SIZE", String(bs.bytesPerSector));
    if (bs.volumeSerial !== 0n)
      tags.set("UUID", bs.volumeSerial.toString(16).toUpperCase().padStart(16, "0"));
    const details: FilesystemDetails = { superblockOffset: 0 };
    const fixed = fixedUp(volumeRecord);
    if (fixed !== null) {
      for (const attr of attributes(fixed, bs.mftRecordSize)) {
        if (attr.nonResident) continue;
        const v = attr.offset + attr.valueOffset;
        if (attr.type === AT_STANDARD_INFORMATION && v + 8 <= fixed.length) {
          const created = fileTimeToUnix(le64(fixed, v));
          if (created !== null) details.created = created;
        }
        if (attr.type === AT_VOLUME_INFORMATION && v + 12 <= fixed.length) {
          const flags = le16(fixed, v + 10);
          details.state = flags & VOLUME_IS_DIRTY ? "dirty" : "clean";
          if (flags & VOLUME_IS_DIRTY)
            details.unclean = ["$Volume dirty flag set (mounted or not cleanly unmounted)"];
        }
      }
    }
    const size = bs.numberOfSectors * BigInt(bs.bytesPerSector);
    if (size <= BigInt(Number.MAX_SAFE_INTEGER)) details.fsSize = Number(size);
    return { tags: tags.values, details };
  },
};
