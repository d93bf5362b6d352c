import { decodeLayout, type Layout } from "./layout.js";
import { decodeString } from "./strings.js";

/** "LUKS\xba\xbe" — the LUKS version 1 on-disk magic. */
export const LUKS_MAGIC = Uint8Array.of(0x4c, 0x55, 0x4b, 0x53, 0xba, 0xbe);
export const LUKS1_HEADER_SIZE = 592;
export const LUKS_KEY_SLOTS = 8;
export const LUKS_SECTOR_SIZE = 512;
/** Key slot states (LUKS1 on-disk format specification). */
export const LUKS_KEY_ENABLED = 0x00ac71f3;
export const LUKS_KEY_DISABLED = 0x0000dead;

/** Fixed fields of the LUKS1 partition header (all big-endian). */
export const LUKS1_HEADER_LAYOUT = {
  version: { offset: 6, type: "u16" },
  payload_offset: { offset: 104, type: "u32" },
  key_bytes: { offset: 108, type: "u32" },
  mk_digest_iter: { offset: 164, type: "u32" },
} as const satisfies Layout;

/** One 48-byte key slot, starting at byte 208 + 48·i. */
export const LUKS1_KEY_SLOT_LAYOUT = {
  active: { offset: 0, type: "u32" },
  iterations: { offset: 4, type: "u32" },
  key_material_offset: { offset: 40, type: "u32" },
  stripes: { offset: 44, type: "u32" },
} as const satisfies Layout;

export interface LuksKeySlot {
  index: number;
  /** Raw state word: 0x00AC71F3 enabled, 0x0000DEAD disabled, anything else invalid. */
  state: number;
  active: boolean;
  iterations: number;
  /** The 32-byte salt is not all zeros. */
  saltPresent: boolean;
  salt: Uint8Array;
  /** Key material offset in 512-byte sectors from the LUKS header. */
  keyMaterialSectors: number;
  stripes: number;
}

/** The LUKS1 header as QEMU writes it inside a QCOW2 image (facts only; no key needed). */
export interface LuksHeader {
  version: number;
  cipherName: string;
  cipherMode: string;
  hashSpec: string;
  /** Payload offset in 512-byte sectors from the LUKS header. */
  payloadSectors: number;
  keyBytes: number;
  mkDigest: Uint8Array;
  mkDigestSalt: Uint8Array;
  mkDigestIterations: number;
  uuid: string;
  keySlots: LuksKeySlot[];
}

/**
 * Decodes a LUKS version 1 header from `bytes` (at least 592). Returns `null`
 * when the magic is absent; never reads outside `bytes`.
 */
export function decodeLuksHeader(bytes: Uint8Array): LuksHeader | null {
  if (bytes.length < LUKS1_HEADER_SIZE) return null;
  for (let i = 0; i < LUKS_MAGIC.length; i++) if (bytes[i] !== LUKS_MAGIC[i]) return null;
  const h = decodeLayout(bytes, 0, LUKS1_HEADER_LAYOUT);
  const keySlots: LuksKeySlot[] = [];
  for (let i = 0; i < LUKS_KEY_SLOTS; i++) {
    const base = 208 + 48 * i;
    const s = decodeLayout(bytes, base, LUKS1_KEY_SLOT_LAYOUT);
    const salt = bytes.slice(base + 8, base + 40);
    keySlots.push({
      index: i,
      state: s.active,
      active: s.active === LUKS_KEY_ENABLED,
      iterations: s.iterations,
      saltPresent: salt.some((b) => b !== 0),
      salt,
      keyMaterialSectors: s.key_material_offset,
      stripes: s.stripes,
    });
  }
  return {
    version: h.version,
    cipherName: decodeString(bytes.subarray(8, 40), 32),
    cipherMode: decodeString(bytes.subarray(40, 72), 32),
    hashSpec: decodeString(bytes.subarray(72, 104), 32),
    payloadSectors: h.payload_offset,
    keyBytes: h.key_bytes,
    mkDigest: bytes.slice(112, 132),
    mkDigestSalt: bytes.slice(132, 164),
    mkDigestIterations: h.mk_digest_iter,
    uuid: decodeString(bytes.subarray(168, 208), 40),
    keySlots,
  };
}

/** QEMU's names for a LUKS cipher spec: "aes" + "xts-plain64" + 64 key bytes → aes-256, xts, plain64. */
export function describeLuksCipher(h: LuksHeader): {
  cipherAlg: string;
  cipherMode: string;
  ivgenAlg: string;
  ivgenHashAlg: string | null;
} {
  const [mode = "", ivgenSpec = ""] = h.cipherMode.split("-", 2);
  const [ivgenAlg = "", ivgenHashAlg] = ivgenSpec.split(":", 2);
  // XTS uses two keys of half the key material each.
  const keyBits = (mode === "xts" ? h.keyBytes / 2 : h.keyBytes) * 8;
  const sized: Record<string, string> = { aes: "aes", serpent: "serpent", twofish: "twofish" };
  const base = sized[h.cipherName];
  const cipherAlg =
    base !== undefined
      ? `${base}-${keyBits}`
      : h.cipherName === "cast5"
        ? "cast5-128"
        : h.cipherName;
  return { cipherAlg, cipherMode: mode, ivgenAlg, ivgenHashAlg: ivgenHashAlg ?? null };
}
