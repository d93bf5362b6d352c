import { QCOW1_HEADER_SIZE } from "./constants.js";
import { decodeLayout, type Layout } from "./layout.js";
import { type OutOfRangeField, toSafeNumber } from "./numbers.js";

/** The QCOW version 1 header (QEMU block/qcow.c `QCowHeader`). */
export const QCOW1_HEADER_LAYOUT = {
  magic: { offset: 0, type: "u32" },
  version: { offset: 4, type: "u32" },
  backing_file_offset: { offset: 8, type: "u64" },
  backing_file_size: { offset: 16, type: "u32" },
  mtime: { offset: 20, type: "u32" },
  size: { offset: 24, type: "u64" },
  cluster_bits: { offset: 32, type: "u8" },
  l2_bits: { offset: 33, type: "u8" },
  crypt_method: { offset: 36, type: "u32" },
  l1_table_offset: { offset: 40, type: "u64" },
} as const satisfies Layout;

/** Decoded QCOW1 header. */
export interface Qcow1Header {
  version: 1;
  backingFileOffset: number;
  backingFileSize: number;
  /** Modification time of the backing file, seconds since the epoch (0 when unset). */
  mtime: number;
  size: number;
  clusterBits: number;
  l2Bits: number;
  cryptMethod: number;
  l1TableOffset: number;
  /** Derived as QEMU does: ceil(size / 2^(cluster_bits + l2_bits)). */
  l1Size: number;
}

/** Decodes a QCOW1 header from at least {@link QCOW1_HEADER_SIZE} bytes. */
export function decodeQcow1Header(bytes: Uint8Array, outOfRange: OutOfRangeField[]): Qcow1Header {
  const h = decodeLayout(bytes.subarray(0, QCOW1_HEADER_SIZE), 0, QCOW1_HEADER_LAYOUT);
  const size = toSafeNumber(h.size, "size", outOfRange);
  const shift = h.cluster_bits + h.l2_bits;
  // A shift past 62 covers any representable size in one L1 entry.
  const l1Size = shift > 62 || !Number.isFinite(size) ? 1 : Math.ceil(size / 2 ** shift);
  return {
    version: 1,
    backingFileOffset: toSafeNumber(h.backing_file_offset, "backing_file_offset", outOfRange),
    backingFileSize: h.backing_file_size,
    mtime: h.mtime,
    size,
    clusterBits: h.cluster_bits,
    l2Bits: h.l2_bits,
    cryptMethod: h.crypt_method,
    l1TableOffset: toSafeNumber(h.l1_table_offset, "l1_table_offset", outOfRange),
    l1Size,
  };
}
