/**
 * Decrypts guest data in place, 512-byte sector by sector. The sector number
 * of the IV is derived from `ivOffset` (QEMU: the host offset for LUKS, the
 * guest offset for legacy AES — `crypt_physical_offset`).
 */
export interface SectorCipher {
  /** `data.length` is a multiple of 512 and `ivOffset` is 512-aligned. */
  decrypt(data: Uint8Array, ivOffset: number): void;
  /** Which offset feeds the IV. */
  readonly ivFrom: "host" | "guest";
}

/** Bytes per encryption sector (QEMU's QCRYPTO_BLOCK_LUKS_SECTOR_SIZE and qcow2's 512). */
export const CRYPT_SECTOR = 512;
