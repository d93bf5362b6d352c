/**
 * Facts a signature gives beyond blkid's tags. Every field is optional:
 * each filesystem fills what its superblock holds.
 */
export interface FilesystemDetails {
  /** Creation (format) time, Unix seconds (ext `s_mkfs_time`, NTFS `$Volume` creation, ISO PVD). */
  created?: number;
  /** Last mount, Unix seconds (ext `s_mtime`). */
  lastMounted?: number;
  /** Last superblock write / modification, Unix seconds (ext `s_wtime`, ISO modification date). */
  lastWritten?: number;
  /** Where it was last mounted (ext `s_last_mounted`). */
  lastMountedOn?: string;
  /** The filesystem's own state words, e.g. ext's "clean" / "not clean with errors" (as dumpe2fs prints). */
  state?: string;
  /**
   * Why the filesystem is not clean: recorded errors, not cleanly unmounted,
   * journal needing recovery, a dirty flag. Absent when clean.
   */
  unclean?: string[];
  /** Byte offset of the superblock (or header) inside the probed region. */
  superblockOffset?: number;
  /** Size the filesystem says it has, in bytes, when exactly known. */
  fsSize?: number;
  /** ext feature names as dumpe2fs lists them (known bits only). */
  features?: string[];
  /** Btrfs superblock generation (exact decimal). */
  generation?: string;
  /** LVM2 physical volume: the metadata text's volume group and logical volumes. */
  lvm?: LvmDetails;
  /** LUKS header facts. */
  luks?: LuksDetails;
  /** Swap or hibernation header facts. */
  swap?: SwapDetails;
  /** BitLocker header facts. */
  bitlocker?: BitLockerDetails;
}

/** One LVM2 physical volume and what its metadata says. */
export interface LvmDetails {
  /** PV UUID as LVM prints it (6-4-4-4-4-4-6). */
  pvUuid: string;
  /** Size recorded in the PV header, bytes. */
  deviceSize: number | null;
  /** Data areas (offset, size) from the PV header, bytes relative to the PV (`null` past 2^53). */
  dataAreas: Array<{ offset: number | null; size: number | null }>;
  /** Metadata areas (offset, size), bytes relative to the PV (`null` past 2^53). */
  metadataAreas: Array<{ offset: number | null; size: number | null }>;
  /** Volume group name; `null` when no metadata text could be read. */
  vgName: string | null;
  vgUuid: string | null;
  /** Metadata sequence number. */
  seqno: number | null;
  /** Extent size in bytes. */
  extentSize: number | null;
  /** This PV's name inside the VG metadata (e.g. "pv0"), matched by UUID. */
  pvName: string | null;
  /** First extent of this PV, bytes from the PV start. */
  peStart: number | null;
  peCount: number | null;
  logicalVolumes: LvmLogicalVolume[];
  /** Where the metadata text was read, bytes from the PV start, and its length. */
  metadataText: { offset: number; length: number } | null;
  /** What could not be read or parsed. */
  problems: string[];
}

export interface LvmLogicalVolume {
  name: string;
  uuid: string | null;
  status: string[];
  segments: LvmSegment[];
}

export interface LvmSegment {
  startExtent: number;
  extentCount: number;
  type: string;
  /** Where the segment's extents live: PV name and first extent on it, plus the
   * guest byte range when the PV is this one. */
  stripes: Array<{ pv: string; extent: number; guestStart?: number; guestLength?: number }>;
}

export interface LuksDetails {
  version: number;
  /** LUKS1: cipher name and mode, hash, payload offset (sectors), key bytes, active key slots. */
  cipher?: string;
  cipherMode?: string;
  hash?: string;
  payloadOffset?: number;
  keyBytes?: number;
  activeKeySlots?: number[];
  /** LUKS2: header size and sequence id, checksum algorithm; and where the header was found. */
  headerSize?: string;
  seqid?: string;
  checksumAlgorithm?: string;
  /** Byte offset of the header found (a LUKS2 secondary header when the primary is gone). */
  headerOffset: number;
}

export interface SwapDetails {
  /** The signature found ("SWAPSPACE2", "S1SUSPEND", …) and the page size it implies. */
  signature: string;
  pageSize: number;
  /** Swap header version and last page, when the v1 header is present. */
  version: number | null;
  lastPage: number | null;
}

export interface BitLockerDetails {
  /** Header kind, from its boot entry point and OEM id. */
  kind: "vista" | "win7" | "togo";
  /** Offset of the first FVE metadata block, bytes from the volume start. */
  fveMetadataOffset: string | null;
}
