import { decodeLuksHeader, LUKS1_HEADER_SIZE, type LuksHeader } from "./format/luks.js";
import type { Qcow2Info } from "./inspect.js";
import { type ByteSource, readSafely } from "./source/byte-source.js";

/** The LUKS header of a LUKS-encrypted QCOW2 image and where it sits. */
export interface LuksInfo {
  /** Host offset of the LUKS header (full-disk-encryption extension). */
  offset: number;
  /** Length the extension declares. */
  length: number;
  header: LuksHeader | null;
  /** Why `header` is null, when it is. */
  problem: string | null;
}

/**
 * Reads the LUKS header the full-disk-encryption extension points to. No key
 * is needed: the header is stored in clear. `null` for images without one.
 */
export async function readLuksHeader(
  source: ByteSource,
  info: Qcow2Info,
): Promise<LuksInfo | null> {
  const fde = info.fullDiskEncryption;
  if (fde === null) return null;
  if (!Number.isFinite(fde.offset) || fde.offset + LUKS1_HEADER_SIZE > source.size) {
    return {
      offset: fde.offset,
      length: fde.length,
      header: null,
      problem: `LUKS header at ${fde.offset} lies past end of file`,
    };
  }
  const bytes = await readSafely(source, fde.offset, LUKS1_HEADER_SIZE);
  const header = decodeLuksHeader(bytes);
  return {
    offset: fde.offset,
    length: fde.length,
    header,
    problem: header === null ? "no LUKS magic at the encryption header offset" : null,
  };
}
