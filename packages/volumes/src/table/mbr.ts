/**
 * The DOS/MBR partition table: sector 0 and the chain of extended boot
 * records (EBRs). Decoding is pure; {@link readMbrPartitions} walks the
 * chain the way libfdisk (sfdisk) does — numbering, the choice of the data
 * and link entries in each EBR, dropping empty links — with loop detection
 * and a bound libfdisk also has (60 partitions).
 */
import { hasMagic, le32, slice, u8 } from "../bytes.js";
import { type DiskReader, SECTOR } from "../disk.js";
import type { Partition, VolumeProblem } from "../layout.js";
import { mbrTypeName } from "./type-names.js";

export const MBR_BOOT_CODE_SIZE = 440;
const DISK_SIGNATURE = 440;
const TABLE = 446;
const ENTRY_SIZE = 16;
/** libfdisk's MAXIMUM_PARTS: primaries and logicals together. */
export const MAX_DOS_PARTITIONS = 60;
const AIX_MAGIC = "\xc9\xc2\xd4\xc1";

export const MBR_TYPE_GPT = 0xee;
const EXTENDED_TYPES = new Set([0x05, 0x0f, 0x85]);
export const isExtendedType = (type: number) => EXTENDED_TYPES.has(type);

/** One 16-byte partition entry. */
export interface MbrEntry {
  /** Index 0–3 in its sector. */
  index: number;
  bootIndicator: number;
  type: number;
  /** Relative start (LBA) and size in sectors. */
  startLba: number;
  sectors: number;
  /** Every byte zero (libfdisk's "cleared" entry, never listed). */
  cleared: boolean;
}

/** A decoded MBR or EBR sector. */
export interface MbrSector {
  signature: boolean;
  diskSignature: number;
  entries: MbrEntry[];
  bootCode: Uint8Array;
  aix: boolean;
}

/** Decodes a 512-byte MBR or EBR sector. */
export function decodeMbrSector(b: Uint8Array): MbrSector {
  const entries: MbrEntry[] = [];
  for (let i = 0; i < 4; i++) {
    const off = TABLE + i * ENTRY_SIZE;
    const raw = slice(b, off, ENTRY_SIZE);
    entries.push({
      index: i,
      bootIndicator: u8(b, off),
      type: u8(b, off + 4),
      startLba: le32(b, off + 8),
      sectors: le32(b, off + 12),
      cleared: raw.length === ENTRY_SIZE && raw.every((x) => x === 0),
    });
  }
  return {
    signature: u8(b, 510) === 0x55 && u8(b, 511) === 0xaa,
    diskSignature: le32(b, DISK_SIGNATURE),
    entries,
    bootCode: slice(b, 0, MBR_BOOT_CODE_SIZE),
    aix: hasMagic(b, 0, AIX_MAGIC),
  };
}

/** sfdisk's spelling of a type byte: lower-case hex without leading zeros. */
export const mbrTypeCode = (type: number) => type.toString(16);

/** sfdisk's spelling of the disk signature. */
export const mbrDiskId = (sig: number) => `0x${sig.toString(16).padStart(8, "0")}`;

/**
 * libblkid's test that sector 0 could be a DOS table at all (the caller adds
 * the FAT/NTFS boot sector and LVM tests): the signature, no AIX magic,
 * boot indicators 0 or 0x80, and no 0xEE entry (that is GPT's).
 */
export function looksLikeDosTable(mbr: MbrSector): boolean {
  if (!mbr.signature || mbr.aix) return false;
  if (mbr.entries.some((e) => e.bootIndicator !== 0 && e.bootIndicator !== 0x80)) return false;
  return !mbr.entries.some((e) => e.type === MBR_TYPE_GPT);
}

interface LogicalSlot {
  ebrSector: number;
  data: MbrEntry;
  link: MbrEntry;
}

function partitionOf(
  number: number,
  kind: Partition["kind"],
  entry: MbrEntry,
  baseSector: number,
  entryOffset: number,
): Partition {
  const part: Partition = {
    number,
    kind,
    start: (baseSector + entry.startLba) * SECTOR,
    length: entry.sectors * SECTOR,
    type: mbrTypeCode(entry.type),
    typeName: mbrTypeName(entry.type),
    entryOffset,
    filesystem: null,
  };
  if (entry.bootIndicator === 0x80) part.bootable = true;
  return part;
}

/**
 * The partitions of a DOS table (primaries as listed, then the logical
 * partitions of the first extended partition), as sfdisk numbers them,
 * with the EBRs read and what was wrong with the chain.
 */
export async function readMbrPartitions(
  reader: DiskReader,
  mbr: MbrSector,
  problems: VolumeProblem[],
): Promise<{ partitions: Partition[]; ebrOffsets: number[] }> {
  const partitions: Partition[] = [];
  for (const e of mbr.entries) {
    if (e.cleared) continue;
    const kind = isExtendedType(e.type) ? "extended" : "primary";
    partitions.push(partitionOf(e.index + 1, kind, e, 0, TABLE + e.index * ENTRY_SIZE));
  }
  const ebrOffsets: number[] = [];
  let logicals: LogicalSlot[] = [];
  let followed: MbrEntry | null = null;
  for (const ext of mbr.entries.filter((e) => isExtendedType(e.type))) {
    const at = TABLE + ext.index * ENTRY_SIZE;
    // libfdisk follows one extended partition; another is ignored once the first gave logicals.
    if (followed !== null && logicals.length > 0) {
      problems.push({
        kind: "table",
        code: "extra-extended",
        message: `extended partition ${ext.index + 1} ignored: partition ${followed.index + 1} is the extended partition`,
        offset: at,
        partition: ext.index + 1,
      });
      continue;
    }
    followed = ext;
    if (ext.startLba === 0) {
      problems.push({
        kind: "table",
        code: "extended-bad-offset",
        message: `extended partition ${ext.index + 1} starts at sector 0`,
        offset: at,
        partition: ext.index + 1,
      });
      continue;
    }
    logicals = await readChain(reader, ext, problems, ebrOffsets);
  }
  for (const [i, slot] of logicals.entries()) {
    if (slot.data.cleared) continue;
    partitions.push(
      partitionOf(
        5 + i,
        "logical",
        slot.data,
        slot.ebrSector,
        slot.ebrSector * SECTOR + TABLE + slot.data.index * ENTRY_SIZE,
      ),
    );
  }
  return { partitions, ebrOffsets };
}

/** libfdisk's `read_extended`, with a loop check. */
async function readChain(
  reader: DiskReader,
  ext: MbrEntry,
  problems: VolumeProblem[],
  ebrOffsets: number[],
): Promise<LogicalSlot[]> {
  const slots: LogicalSlot[] = [];
  const seen = new Set<number>();
  let extOffset = 0;
  let link: MbrEntry = ext;
  while (isExtendedType(link.type)) {
    if (4 + slots.length >= MAX_DOS_PARTITIONS) {
      problems.push({
        kind: "table",
        code: "too-many-partitions",
        message: `the extended partition chain goes on past ${MAX_DOS_PARTITIONS} partitions; the rest is not read (sfdisk omits them too)`,
      });
      return slots;
    }
    const ebrSector = extOffset + link.startLba;
    if (seen.has(ebrSector)) {
      problems.push({
        kind: "table",
        code: "ebr-loop",
        message: `the extended partition chain loops back to the EBR at sector ${ebrSector}`,
        offset: ebrSector * SECTOR,
      });
      break;
    }
    seen.add(ebrSector);
    const bytes = await reader.read(ebrSector * SECTOR, SECTOR);
    if (bytes === null) {
      problems.push({
        kind: "table",
        code: "ebr-unreadable",
        message: `the EBR at sector ${ebrSector} lies past the end of the disk`,
        offset: ebrSector * SECTOR,
      });
      return slots;
    }
    ebrOffsets.push(ebrSector * SECTOR);
    if (extOffset === 0) extOffset = link.startLba;
    const ebr = decodeMbrSector(bytes);
    if (!ebr.signature)
      problems.push({
        kind: "table",
        code: "ebr-signature",
        message: `the EBR at sector ${ebrSector} lacks the 0x55AA signature`,
        offset: ebrSector * SECTOR + 510,
      });
    let data: MbrEntry | null = null;
    let next: MbrEntry | null = null;
    for (const e of ebr.entries) {
      if (e.sectors === 0) continue;
      if (isExtendedType(e.type)) {
        if (next !== null)
          problems.push({
            kind: "table",
            code: "ebr-extra-link",
            message: `the EBR at sector ${ebrSector} has more than one link entry; entry ${e.index + 1} ignored`,
            offset: ebrSector * SECTOR + TABLE + e.index * ENTRY_SIZE,
          });
        else next = e;
      } else if (e.type !== 0) {
        if (data !== null)
          problems.push({
            kind: "table",
            code: "ebr-extra-data",
            message: `the EBR at sector ${ebrSector} has more than one data entry; entry ${e.index + 1} ignored`,
            offset: ebrSector * SECTOR + TABLE + e.index * ENTRY_SIZE,
          });
        else data = e;
      }
    }
    const [q, q1] = ebr.entries as [MbrEntry, MbrEntry];
    // libfdisk's fallback when an EBR lacks either entry: the first entry, or the second.
    data ??= q !== next ? q : q1;
    next ??= q !== data ? q : q1;
    slots.push({ ebrSector, data, link: next });
    link = next;
  }
  // libfdisk drops a trailing empty EBR, then every logical without sectors.
  const last = slots[slots.length - 1];
  if (last?.data.cleared && last.link.cleared) slots.pop();
  for (let i = 0; i < slots.length; ) {
    const slot = slots[i] as LogicalSlot;
    const firstType = slots[0]?.data.type ?? 0;
    if (slot.data.sectors === 0 && (4 + slots.length > 5 || firstType !== 0)) {
      slots.splice(i, 1);
      i = 0;
    } else i++;
  }
  return slots;
}
