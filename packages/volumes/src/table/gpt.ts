/**
 * The GUID Partition Table (UEFI specification, "GUID Partition Table (GPT)
 * Disk Layout"): primary header at LBA 1, backup at the LBA the primary
 * names (or the last LBA), each with its partition entry array and CRC32s.
 * Header validity and the listing follow libfdisk (sfdisk): a damaged
 * primary is replaced by a valid backup, entries are listed when their type
 * GUID or start is non-zero.
 */
import { le32, le64, safeNumber, slice } from "../bytes.js";
import { crc32 } from "../crc32.js";
import { type DiskReader, SECTOR } from "../disk.js";
import type { GptFacts, GptHeaderFacts, Partition, VolumeProblem } from "../layout.js";
import { displayString, efiGuid, utf16ToUtf8 } from "../strings.js";
import { gptTypeName } from "./type-names.js";

const SIGNATURE = 0x5452415020494645n; // "EFI PART"
const HEADER_MIN = 92;
/**
 * Largest partition entry array read (8192 entries of 128 bytes). Real
 * tables hold 128 entries (16 KiB); a header claiming millions is refused
 * (reported) instead of read.
 */
export const MAX_ENTRY_ARRAY = 1024 * 1024;
/** GPT attribute bits sfdisk names, and the type-specific range it lists as "GUID:<bit>". */
const ATTR_REQUIRED = 0n;
const ATTR_NO_BLOCK_IO = 1n;
const ATTR_LEGACY_BIOS_BOOTABLE = 2n;
const UNUSED_TYPE = "00000000-0000-0000-0000-000000000000";

/** A decoded GPT header (64-bit fields exact). */
export interface GptHeader {
  signature: boolean;
  revision: number;
  headerSize: number;
  headerCrc32: number;
  /** CRC32 of the header as stored, with its CRC field zeroed (0 when `headerSize` is out of range). */
  computedHeaderCrc32: number;
  myLba: bigint;
  alternateLba: bigint;
  firstUsableLba: bigint;
  lastUsableLba: bigint;
  diskGuid: string;
  partitionEntryLba: bigint;
  numberOfPartitionEntries: number;
  sizeOfPartitionEntry: number;
  partitionEntryArrayCrc32: number;
}

/** Decodes the header sector (512 bytes). */
export function decodeGptHeader(b: Uint8Array): GptHeader {
  const headerSize = le32(b, 12);
  let computed = 0;
  if (headerSize >= HEADER_MIN && headerSize <= b.length) {
    const copy = b.slice(0, headerSize);
    copy.fill(0, 16, 20);
    computed = crc32(copy);
  }
  return {
    signature: le64(b, 0) === SIGNATURE,
    revision: le32(b, 8),
    headerSize,
    headerCrc32: le32(b, 16),
    computedHeaderCrc32: computed,
    myLba: le64(b, 24),
    alternateLba: le64(b, 32),
    firstUsableLba: le64(b, 40),
    lastUsableLba: le64(b, 48),
    diskGuid: efiGuid(slice(b, 56, 16)),
    partitionEntryLba: le64(b, 72),
    numberOfPartitionEntries: le32(b, 80),
    sizeOfPartitionEntry: le32(b, 84),
    partitionEntryArrayCrc32: le32(b, 88),
  };
}

/** One entry of the partition entry array. */
export interface GptEntry {
  index: number;
  typeGuid: string;
  uniqueGuid: string;
  startingLba: bigint;
  endingLba: bigint;
  attributes: bigint;
  /** The name as sfdisk converts it (UTF-8 bytes). */
  name: Uint8Array;
}

/** Decodes entry `index` of an array of `entrySize`-byte entries. */
export function decodeGptEntry(array: Uint8Array, index: number, entrySize: number): GptEntry {
  const off = index * entrySize;
  const e = slice(array, off, Math.min(entrySize, 128));
  // libfdisk converts the 72-byte name into a buffer of 109 bytes.
  return {
    index,
    typeGuid: efiGuid(slice(e, 0, 16)),
    uniqueGuid: efiGuid(slice(e, 16, 16)),
    startingLba: le64(e, 32),
    endingLba: le64(e, 40),
    attributes: le64(e, 48),
    name: utf16ToUtf8(slice(e, 56, 72), "le", (72 * 3) / 2 + 1),
  };
}

/** sfdisk's attribute string ("RequiredPartition NoBlockIOProtocol LegacyBIOSBootable GUID:48,60"), or `null`. */
export function gptAttributeString(attrs: bigint): string | null {
  if (attrs === 0n) return null;
  const parts: string[] = [];
  const bit = (n: bigint) => (attrs >> n) & 1n;
  if (bit(ATTR_REQUIRED)) parts.push("RequiredPartition");
  if (bit(ATTR_NO_BLOCK_IO)) parts.push("NoBlockIOProtocol");
  if (bit(ATTR_LEGACY_BIOS_BOOTABLE)) parts.push("LegacyBIOSBootable");
  const guidBits: number[] = [];
  for (let n = 48; n < 64; n++) if (bit(BigInt(n))) guidBits.push(n);
  if (guidBits.length > 0) parts.push(`GUID:${guidBits.join(",")}`);
  return parts.join(" ");
}

const hex32 = (n: number) => `0x${n.toString(16).padStart(8, "0")}`;

interface ReadHeader {
  facts: GptHeaderFacts;
  header: GptHeader | null;
  entries: Uint8Array | null;
}

/**
 * Reads and checks the header at `lba` as libfdisk does: signature, header
 * size, header CRC, entry array (bounded) and its CRC, usable-range sanity,
 * and MyLBA equal to where it was found.
 */
export async function readGptHeader(
  reader: DiskReader,
  lba: bigint,
  lastLba: bigint,
): Promise<ReadHeader> {
  const at = safeNumber(lba);
  const invalid = (
    problem: string,
    header: GptHeader | null = null,
    extra: Partial<GptHeaderFacts> = {},
  ): ReadHeader => ({
    facts: {
      lba: at ?? -1,
      valid: false,
      problem,
      ...(header === null ? {} : headerFacts(header)),
      ...extra,
    },
    header: null,
    entries: null,
  });
  if (at === null || lba > lastLba) return invalid(`LBA ${lba} lies past the end of the disk`);
  const bytes = await reader.read(at * SECTOR, SECTOR);
  if (bytes === null) return invalid(`LBA ${lba} lies past the end of the disk`);
  const h = decodeGptHeader(bytes);
  if (!h.signature) return invalid('no GPT signature ("EFI PART")');
  if (h.headerSize < HEADER_MIN || h.headerSize > SECTOR)
    return invalid(`header size ${h.headerSize} outside ${HEADER_MIN}..${SECTOR}`, h);
  if (h.computedHeaderCrc32 !== h.headerCrc32)
    return invalid(
      `header CRC32 ${hex32(h.headerCrc32)} does not match the header (${hex32(h.computedHeaderCrc32)})`,
      h,
    );
  const arrayBytes = h.numberOfPartitionEntries * h.sizeOfPartitionEntry;
  if (h.numberOfPartitionEntries === 0 || h.sizeOfPartitionEntry === 0)
    return invalid("the header declares an empty partition entry array", h);
  if (arrayBytes > MAX_ENTRY_ARRAY)
    return invalid(
      `the partition entry array would be ${arrayBytes} bytes (${h.numberOfPartitionEntries} entries of ${h.sizeOfPartitionEntry}); not read beyond ${MAX_ENTRY_ARRAY}`,
      h,
    );
  const arrayAt = safeNumber(h.partitionEntryLba * BigInt(SECTOR));
  const entries = arrayAt === null ? null : await reader.read(arrayAt, arrayBytes);
  if (entries === null)
    return invalid(
      `the partition entry array at LBA ${h.partitionEntryLba} lies past the end of the disk`,
      h,
    );
  const computed = crc32(entries);
  const crcFacts = {
    entriesCrc32: { stored: hex32(h.partitionEntryArrayCrc32), computed: hex32(computed) },
  };
  if (computed !== h.partitionEntryArrayCrc32)
    return invalid(
      `partition entry array CRC32 ${hex32(h.partitionEntryArrayCrc32)} does not match the array (${hex32(computed)})`,
      h,
      crcFacts,
    );
  if (h.lastUsableLba < h.firstUsableLba)
    return invalid("last usable LBA lies before the first usable LBA", h, crcFacts);
  if (h.firstUsableLba > lastLba || h.lastUsableLba > lastLba)
    return invalid("the usable LBA range runs past the end of the disk", h, crcFacts);
  if (h.firstUsableLba < 1n && 1n < h.lastUsableLba)
    return invalid("the primary header's LBA lies inside the usable range", h, crcFacts);
  if (h.myLba !== lba)
    return invalid(`MyLBA ${h.myLba} is not where the header was found (${lba})`, h, crcFacts);
  return {
    facts: { lba: at, valid: true, problem: null, ...headerFacts(h), ...crcFacts },
    header: h,
    entries,
  };
}

function headerFacts(h: GptHeader): Partial<GptHeaderFacts> {
  return {
    revision: `${h.revision >>> 16}.${h.revision & 0xffff}`,
    headerSize: h.headerSize,
    myLba: h.myLba.toString(),
    alternateLba: h.alternateLba.toString(),
    firstUsableLba: h.firstUsableLba.toString(),
    lastUsableLba: h.lastUsableLba.toString(),
    diskGuid: h.diskGuid,
    partitionEntryLba: h.partitionEntryLba.toString(),
    numberOfPartitionEntries: h.numberOfPartitionEntries,
    sizeOfPartitionEntry: h.sizeOfPartitionEntry,
    headerCrc32: { stored: hex32(h.headerCrc32), computed: hex32(h.computedHeaderCrc32) },
  };
}

/** The GPT as sfdisk reads it, or `null` when neither header is valid (sfdisk then reads the protective MBR as a DOS table). */
export interface GptTable {
  facts: GptFacts;
  diskGuid: string;
  partitions: Partition[];
}

export async function readGpt(
  reader: DiskReader,
  problems: VolumeProblem[],
): Promise<GptTable | null> {
  const lastLba = BigInt(Math.floor(reader.size / SECTOR)) - 1n;
  if (lastLba < 1n) return null;
  const primary = await readGptHeader(reader, 1n, lastLba);
  const backupLba = primary.header !== null ? primary.header.alternateLba : lastLba;
  const backup = await readGptHeader(reader, backupLba, lastLba);
  const used = primary.header !== null ? primary : backup;
  if (used.header === null || used.entries === null) {
    problems.push({
      kind: "gpt",
      code: "gpt-unreadable",
      message: `protective MBR present but no valid GPT header: primary (LBA 1): ${primary.facts.problem}; backup (LBA ${backupLba}): ${backup.facts.problem}`,
      offset: SECTOR,
    });
    return null;
  }
  const h = used.header;
  if (primary.header === null)
    problems.push({
      kind: "gpt",
      code: "gpt-primary-invalid",
      message: `primary GPT header (LBA 1) is not valid: ${primary.facts.problem}; the backup at LBA ${backupLba} is used`,
      offset: SECTOR,
    });
  if (backup.header === null)
    problems.push({
      kind: "gpt",
      code: "gpt-backup-invalid",
      message: `backup GPT header (LBA ${backupLba}) is not valid: ${backup.facts.problem}`,
      ...(safeNumber(backupLba * BigInt(SECTOR)) === null
        ? {}
        : { offset: Number(backupLba) * SECTOR }),
    });
  const mismatches =
    primary.header !== null && backup.header !== null ? compareHeaders(primary, backup) : [];
  for (const m of mismatches)
    problems.push({
      kind: "gpt",
      code: "gpt-primary-backup-mismatch",
      message: `primary and backup GPT disagree: ${m}`,
    });
  if (primary.header !== null && primary.header.alternateLba !== lastLba)
    problems.push({
      kind: "table",
      code: "gpt-backup-not-at-end",
      message: `the backup GPT header is at LBA ${primary.header.alternateLba}, not at the disk's last LBA ${lastLba} (consistent with a resized disk)`,
    });
  const partitions: Partition[] = [];
  const arrayOffset = Number(h.partitionEntryLba) * SECTOR;
  for (let i = 0; i < h.numberOfPartitionEntries; i++) {
    const e = decodeGptEntry(used.entries, i, h.sizeOfPartitionEntry);
    if (e.typeGuid === UNUSED_TYPE && e.startingLba === 0n) continue;
    const startBytes = safeNumber(e.startingLba * BigInt(SECTOR));
    const lengthBytes = safeNumber((e.endingLba - e.startingLba + 1n) * BigInt(SECTOR));
    const entryOffset = arrayOffset + i * h.sizeOfPartitionEntry;
    if (startBytes === null || lengthBytes === null) {
      problems.push({
        kind: "table",
        code: "partition-out-of-range",
        message: `GPT entry ${i + 1} spans LBA ${e.startingLba}..${e.endingLba}, which no disk can hold; not listed`,
        offset: entryOffset,
        partition: i + 1,
      });
      continue;
    }
    if (e.startingLba < h.firstUsableLba || e.endingLba > h.lastUsableLba)
      problems.push({
        kind: "table",
        code: "partition-outside-usable",
        message: `GPT entry ${i + 1} (LBA ${e.startingLba}..${e.endingLba}) lies outside the usable range ${h.firstUsableLba}..${h.lastUsableLba}`,
        offset: entryOffset,
        partition: i + 1,
      });
    const part: Partition = {
      number: i + 1,
      kind: "gpt",
      start: startBytes,
      length: lengthBytes,
      type: e.typeGuid,
      typeName: gptTypeName(e.typeGuid),
      uuid: e.uniqueGuid,
      entryOffset,
      filesystem: null,
    };
    if (e.name.length > 0) part.name = displayString(e.name);
    const attrs = gptAttributeString(e.attributes);
    if (attrs !== null) part.attrs = attrs;
    partitions.push(part);
  }
  const facts: GptFacts = {
    primary: primary.facts,
    backup: backup.facts,
    used: primary.header !== null ? "primary" : "backup",
    firstUsableLba: Number(h.firstUsableLba),
    lastUsableLba: Number(h.lastUsableLba),
    mismatches,
  };
  return { facts, diskGuid: h.diskGuid, partitions };
}

/** What a valid backup says differently from a valid primary. */
function compareHeaders(p: ReadHeader, b: ReadHeader): string[] {
  const ph = p.header as GptHeader;
  const bh = b.header as GptHeader;
  const out: string[] = [];
  const field = (name: string, x: unknown, y: unknown) => {
    if (x !== y) out.push(`${name}: primary ${String(x)}, backup ${String(y)}`);
  };
  field("disk GUID", ph.diskGuid, bh.diskGuid);
  field("first usable LBA", ph.firstUsableLba, bh.firstUsableLba);
  field("last usable LBA", ph.lastUsableLba, bh.lastUsableLba);
  field("number of entries", ph.numberOfPartitionEntries, bh.numberOfPartitionEntries);
  field("entry size", ph.sizeOfPartitionEntry, bh.sizeOfPartitionEntry);
  field(
    "entry array CRC32",
    hex32(ph.partitionEntryArrayCrc32),
    hex32(bh.partitionEntryArrayCrc32),
  );
  field("backup's alternate LBA", bh.alternateLba, 1n);
  return out;
}
