/**
 * BitLocker (BDE) volume header: an NTFS- or FAT-like boot sector whose OEM
 * id says "-FVE-FS-" (Vista, Windows 7+) or "MSWIN4.1" (BitLocker To Go),
 * pointing at an FVE metadata block. Layout as libbde documents it and as
 * libblkid reads it.
 */
import { hasMagic, le16, le32, le64 } from "../bytes.js";
import type { Region } from "../disk.js";
import type { BitLockerDetails } from "./details.js";
import { type Prober, Tags } from "./prober.js";

const HEADER_SIZE = 512;
const MAGIC_VISTA = "\xeb\x52\x90-FVE-FS-";
const MAGIC_WIN7 = "\xeb\x58\x90-FVE-FS-";
const MAGIC_TOGO = "\xeb\x58\x90MSWIN4.1";
const FVE_SIGNATURE = "-FVE-FS-";
/** Byte offsets in the Windows 7 and To Go headers. */
const WIN7_VOLUME_SERIAL = 67;
const WIN7_FVE_METADATA_OFFSET = 176;
const TOGO_FVE_METADATA_OFFSET = 440;
/** In the FVE metadata block header. */
const FVE_VERSION = 10;

export interface BitLockerHeader {
  kind: BitLockerDetails["kind"];
  /** Windows 7 headers only. */
  volumeSerial: number | null;
  fveMetadataOffset: bigint | null;
}

/** Decodes the first sector of a volume as a BitLocker header, or `null`. */
export function decodeBitLockerHeader(b: Uint8Array): BitLockerHeader | null {
  if (b.length < HEADER_SIZE) return null;
  if (hasMagic(b, 0, MAGIC_VISTA))
    return { kind: "vista", volumeSerial: null, fveMetadataOffset: null };
  if (hasMagic(b, 0, MAGIC_WIN7))
    return {
      kind: "win7",
      volumeSerial: le32(b, WIN7_VOLUME_SERIAL),
      fveMetadataOffset: le64(b, WIN7_FVE_METADATA_OFFSET),
    };
  if (hasMagic(b, 0, MAGIC_TOGO))
    return {
      kind: "togo",
      volumeSerial: null,
      fveMetadataOffset: le64(b, TOGO_FVE_METADATA_OFFSET),
    };
  return null;
}

/**
 * The header and FVE metadata version when the region holds BitLocker by
 * libblkid's test (Vista by magic alone; Windows 7 and To Go need the FVE
 * block's signature at the offset the header gives), else `null`.
 */
export async function readBitLocker(
  region: Region,
): Promise<{ header: BitLockerHeader; fveVersion: number | null } | null> {
  const first = await region.read(0, HEADER_SIZE);
  const header = first === null ? null : decodeBitLockerHeader(first);
  if (header === null) return null;
  if (header.kind === "vista") return { header, fveVersion: null };
  if (header.fveMetadataOffset === null || header.fveMetadataOffset === 0n) return null;
  const fve = await region.readAt(header.fveMetadataOffset, 12);
  if (fve === null || !hasMagic(fve, 0, FVE_SIGNATURE)) return null;
  return { header, fveVersion: le16(fve, FVE_VERSION) };
}

/** Whether the region is BitLocker (FAT and NTFS probes step aside for it, as in libblkid). */
export async function isBitLocker(region: Region): Promise<boolean> {
  return (await readBitLocker(region)) !== null;
}

export const BITLOCKER_PROBER: Prober = {
  type: "BitLocker",
  usage: "crypto",
  async probe(region) {
    // The magic search needs the first KiB inside the region.
    if (region.size < 1024) return null;
    const found = await readBitLocker(region);
    if (found === null) return null;
    const tags = new Tags();
    const serial = found.header.volumeSerial;
    // libblkid prints the (signed) 32-bit serial as a zero-padded 16-digit decimal.
    if (found.header.kind === "win7" && serial !== null && serial !== 0)
      tags.set("UUID", formatSigned16(serial | 0));
    if (found.fveVersion !== null) tags.set("VERSION", String(found.fveVersion));
    return {
      tags: tags.values,
      details: {
        superblockOffset: 0,
        bitlocker: {
          kind: found.header.kind,
          fveMetadataOffset:
            found.header.fveMetadataOffset === null ? null : String(found.header.fveMetadataOffset),
        },
      },
    };
  },
};

/** C's `%016d`: sign first, zero padding to 16 characters in all. */
function formatSigned16(n: number): string {
  return n < 0 ? `-${String(-n).padStart(15, "0")}` : String(n).padStart(16, "0");
}
