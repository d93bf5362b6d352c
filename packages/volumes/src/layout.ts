import type { FilesystemDetails } from "./fs/details.js";
import type { Usage } from "./fs/prober.js";

/** The partitioning scheme found on a disk. */
export type Scheme = "gpt" | "mbr" | "none";

/**
 * A filesystem or volume signature, spelled as `blkid -p` prints it.
 * `type`, `uuid`, `label` and `version` repeat the `TYPE`, `UUID`, `LABEL`
 * and `VERSION` tags; `tags` holds every tag blkid would print for it.
 */
export interface Filesystem {
  type: string;
  usage: Usage;
  uuid: string | null;
  label: string | null;
  version: string | null;
  /** Guest byte offset of the probed region (the partition's start, or 0). */
  offset: number;
  /** Tag → value, exactly the superblock tags of `blkid -p -o export`. */
  tags: Record<string, string>;
  details: FilesystemDetails;
}

/** One partition, as `sfdisk --json` lists it, in bytes. */
export interface Partition {
  /** sfdisk's number: 1–4 primary and 5… logical (MBR), entry index + 1 (GPT). */
  number: number;
  kind: "primary" | "extended" | "logical" | "gpt";
  /** Guest byte offset. */
  start: number;
  /** Bytes. */
  length: number;
  /** sfdisk's spelling: the MBR type byte in hex ("83", "7", "5"), or the GPT type GUID. */
  type: string;
  /** fdisk's name of the type, when it knows it. */
  typeName: string | null;
  /** MBR: boot indicator 0x80. */
  bootable?: boolean;
  /** GPT: the partition name (UTF-16LE decoded as sfdisk does); absent when empty. */
  name?: string;
  /** GPT: the unique partition GUID. */
  uuid?: string;
  /** GPT: attribute bits as sfdisk prints them ("RequiredPartition LegacyBIOSBootable GUID:60"). */
  attrs?: string;
  /** Guest byte offset of the table entry that defines it. */
  entryOffset: number;
  /** The signature inside it; `null` for the extended container, empty or unrecognised space. */
  filesystem: Filesystem | null;
  /** Boot code at the start of the partition (volume boot record), when its filesystem has some. */
  bootRecord?: BootCode;
}

/** A fingerprinted boot code region. */
export interface BootCode {
  /** What the bytes are, e.g. "MBR boot code", "FAT32 boot sector code", "BIOS boot partition". */
  what: string;
  /** Guest byte offset and length hashed. */
  offset: number;
  length: number;
  sha256: string;
  /** All bytes zero (no boot code installed). */
  empty: boolean;
}

/** Facts of the MBR (or protective MBR) in sector 0. */
export interface MbrFacts {
  /** The 32-bit disk signature at offset 440, as sfdisk prints it ("0x1234abcd"). */
  diskSignature: string;
  /** An 0xEE entry is present (a GPT disk's protective MBR). */
  protective: boolean;
  /** Protective MBR with other entries as well (hybrid MBR). */
  hybrid: boolean;
  /** The boot code area (bytes 0–439). */
  bootCode: BootCode;
  /** Guest byte offsets of every extended boot record read. */
  ebrOffsets: number[];
}

/** One GPT header (primary or backup) and its checks. */
export interface GptHeaderFacts {
  /** LBA it was read from. */
  lba: number;
  valid: boolean;
  /** Why it is not valid, when it is not. */
  problem: string | null;
  /** Header fields (present when the signature was found). */
  revision?: string;
  headerSize?: number;
  myLba?: string;
  alternateLba?: string;
  firstUsableLba?: string;
  lastUsableLba?: string;
  diskGuid?: string;
  partitionEntryLba?: string;
  numberOfPartitionEntries?: number;
  sizeOfPartitionEntry?: number;
  headerCrc32?: { stored: string; computed: string };
  entriesCrc32?: { stored: string; computed: string | null };
}

export interface GptFacts {
  primary: GptHeaderFacts;
  backup: GptHeaderFacts;
  /** Which header the partitions were read from. */
  used: "primary" | "backup";
  /** sfdisk's first-lba/last-lba (the usable range). */
  firstUsableLba: number;
  lastUsableLba: number;
  /** Primary and backup headers and arrays disagree (both valid). */
  mismatches: string[];
}

/** Something wrong with the tables or a signature; the layout is still given. */
export interface VolumeProblem {
  /**
   * `gpt` (CRC, primary/backup), `table` (loops, overlaps, past the end,
   * malformed entries), `filesystem` (ambivalent or unreadable signature),
   * `read` (a read failed or the budget was spent).
   */
  kind: "gpt" | "table" | "filesystem" | "read";
  code: string;
  message: string;
  /** Guest byte offset concerned. */
  offset?: number;
  /** Partition number concerned. */
  partition?: number;
}

/**
 * What the guest disk holds: its partition table (as `sfdisk --json` lists
 * it, in bytes) and the signature in each partition (as `blkid -p` prints
 * it), or the whole-disk signature when there is no table.
 */
export interface VolumeLayout {
  scheme: Scheme;
  /** Disk size in bytes. */
  size: number;
  sectorSize: number;
  /** sfdisk's label-id: "0x1234abcd" (MBR) or the disk GUID (GPT); `null` without a table. */
  id: string | null;
  /**
   * The signature of the whole disk, as `blkid -p` reports it for the device:
   * the filesystem of a disk without a table; `null` on a partitioned disk,
   * unless a signature shares sector 0 with the table (an exFAT
   * "superfloppy" behind an empty DOS table, a hybrid ISO).
   */
  filesystem: Filesystem | null;
  partitions: Partition[];
  mbr: MbrFacts | null;
  gpt: GptFacts | null;
  problems: VolumeProblem[];
  /** Guest bytes read to build this layout. */
  bytesRead: number;
}
