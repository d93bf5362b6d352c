/**
 * LUKS1 unlocking and sector decryption with `node:crypto` (Node-only:
 * browsers have no AES-XTS). Implements what QEMU's crypto/block-luks.c
 * does: PBKDF2 per key slot, decrypt the key material, anti-forensic merge,
 * then the master-key digest check that proves the passphrase right.
 */
import { Qcow2Error } from "../errors.js";
import { describeLuksCipher, type LuksHeader } from "../format/luks.js";
import { LIMITS } from "../limits.js";
import type { LuksInfo } from "../luks-header.js";
import { lazyCrypto } from "../node-builtins.js";
import { type ByteSource, readExact } from "../source/byte-source.js";
import { CRYPT_SECTOR, type SectorCipher } from "./cipher.js";

/** Stripes QEMU writes (4000); anything far larger is a crafted slot. */
export const MAX_LUKS_STRIPES = 65536;

const HASHES = new Set(["sha1", "sha224", "sha256", "sha384", "sha512", "ripemd160"]);

interface CipherSpec {
  /** node:crypto cipher name, e.g. aes-256-xts. */
  name: string;
  keyBytes: number;
  mode: string;
  ivgen: string;
  ivgenHash: string | null;
  alg: string;
}

function cipherSpec(h: LuksHeader): CipherSpec {
  const c = describeLuksCipher(h);
  const alg = c.cipherAlg; // e.g. aes-256
  if (!/^aes-(128|192|256)$/.test(alg)) {
    throw new Qcow2Error(
      "UNSUPPORTED_FEATURE",
      `LUKS cipher ${alg} is not supported for decryption (AES only)`,
      { field: "cipher_name", value: h.cipherName },
    );
  }
  if (!["xts", "cbc", "ecb"].includes(c.cipherMode)) {
    throw new Qcow2Error(
      "UNSUPPORTED_FEATURE",
      `LUKS cipher mode ${c.cipherMode} is not supported`,
      { field: "cipher_mode", value: h.cipherMode },
    );
  }
  if (!["plain", "plain64", "essiv"].includes(c.ivgenAlg) && c.cipherMode !== "ecb") {
    throw new Qcow2Error(
      "UNSUPPORTED_FEATURE",
      `LUKS IV generator ${c.ivgenAlg} is not supported`,
      { field: "cipher_mode", value: h.cipherMode },
    );
  }
  if (!HASHES.has(h.hashSpec)) {
    throw new Qcow2Error("UNSUPPORTED_FEATURE", `LUKS hash ${h.hashSpec} is not supported`, {
      field: "hash_spec",
      value: h.hashSpec,
    });
  }
  const bits = alg.split("-")[1] as string;
  return {
    name: `aes-${bits}-${c.cipherMode}`,
    keyBytes: h.keyBytes,
    mode: c.cipherMode,
    ivgen: c.ivgenAlg,
    ivgenHash: c.ivgenHashAlg,
    alg,
  };
}

/** The IV for `sector` (little-endian, as QEMU's plain/plain64/essiv generators). */
function makeIvGen(spec: CipherSpec, key: Uint8Array): (sector: number) => Buffer | null {
  if (spec.mode === "ecb") return () => null;
  if (spec.ivgen === "essiv") {
    const hash = spec.ivgenHash ?? "sha256";
    const salt = lazyCrypto().createHash(hash).update(key).digest();
    const essivName = `aes-${salt.length * 8}-ecb`;
    return (sector) => {
      const plain = Buffer.alloc(16);
      plain.writeBigUInt64LE(BigInt(sector));
      const c = lazyCrypto().createCipheriv(essivName, salt, null);
      c.setAutoPadding(false);
      return Buffer.concat([c.update(plain), c.final()]);
    };
  }
  return (sector) => {
    const iv = Buffer.alloc(16);
    // plain truncates the sector number to 32 bits.
    if (spec.ivgen === "plain") iv.writeUInt32LE(sector >>> 0);
    else iv.writeBigUInt64LE(BigInt(sector));
    return iv;
  };
}

/** OpenSSL has AES-XTS only for 128- and 256-bit keys; QEMU also creates aes-192-xts. */
function needsSoftXts(spec: CipherSpec): boolean {
  return spec.mode === "xts" && spec.name !== "aes-128-xts" && spec.name !== "aes-256-xts";
}

/** Multiplies an XTS tweak by alpha in GF(2^128) (little-endian, IEEE 1619). */
function xtsDouble(t: Uint8Array): void {
  let carry = 0;
  for (let i = 0; i < 16; i++) {
    const b = t[i] as number;
    t[i] = ((b << 1) | carry) & 0xff;
    carry = b >>> 7;
  }
  if (carry) t[0] = (t[0] as number) ^ 0x87;
}

/** XTS decryption of one sector from AES-ECB primitives (whole 16-byte blocks, no stealing needed). */
function softXtsDecrypt(key: Uint8Array, iv: Buffer, sector: Uint8Array): void {
  const half = key.length / 2;
  const ecb = `aes-${half * 8}-ecb`;
  const tweakCipher = lazyCrypto().createCipheriv(ecb, key.subarray(half), null);
  tweakCipher.setAutoPadding(false);
  const t = new Uint8Array(Buffer.concat([tweakCipher.update(iv), tweakCipher.final()]));
  const masked = new Uint8Array(sector.length);
  const tweaks = new Uint8Array(sector.length);
  for (let at = 0; at < sector.length; at += 16) {
    tweaks.set(t, at);
    for (let j = 0; j < 16; j++) masked[at + j] = (sector[at + j] as number) ^ (t[j] as number);
    xtsDouble(t);
  }
  const d = lazyCrypto().createDecipheriv(ecb, key.subarray(0, half), null);
  d.setAutoPadding(false);
  const plain = Buffer.concat([d.update(masked), d.final()]);
  for (let i = 0; i < sector.length; i++) sector[i] = (plain[i] as number) ^ (tweaks[i] as number);
}

/** Decrypts `data` (whole sectors) in place, the first sector being `firstSector`. */
function decryptSectors(
  spec: CipherSpec,
  key: Uint8Array,
  ivOf: (sector: number) => Buffer | null,
  data: Uint8Array,
  firstSector: number,
): void {
  if (needsSoftXts(spec)) {
    for (let at = 0; at < data.length; at += CRYPT_SECTOR) {
      const iv = ivOf(firstSector + at / CRYPT_SECTOR) as Buffer;
      softXtsDecrypt(key, iv, data.subarray(at, at + CRYPT_SECTOR));
    }
    return;
  }
  for (let at = 0; at < data.length; at += CRYPT_SECTOR) {
    const d = lazyCrypto().createDecipheriv(spec.name, key, ivOf(firstSector + at / CRYPT_SECTOR));
    d.setAutoPadding(false);
    const sector = data.subarray(at, at + CRYPT_SECTOR);
    const plain = Buffer.concat([d.update(sector), d.final()]);
    sector.set(plain);
  }
}

/** LUKS1 anti-forensic merge (AFmerge): diffuse-and-xor the stripes back into one key. */
function afMerge(split: Uint8Array, keyBytes: number, stripes: number, hash: string): Uint8Array {
  let d: Uint8Array = new Uint8Array(keyBytes);
  for (let i = 0; i < stripes - 1; i++) {
    const block = split.subarray(i * keyBytes, (i + 1) * keyBytes);
    for (let j = 0; j < keyBytes; j++) d[j] = (d[j] as number) ^ (block[j] as number);
    d = diffuse(d, hash);
  }
  const last = split.subarray((stripes - 1) * keyBytes, stripes * keyBytes);
  const key = new Uint8Array(keyBytes);
  for (let j = 0; j < keyBytes; j++) key[j] = (d[j] as number) ^ (last[j] as number);
  return key;
}

function diffuse(block: Uint8Array, hash: string): Uint8Array {
  const digestSize = lazyCrypto().createHash(hash).digest().length;
  const out = new Uint8Array(block.length);
  for (let i = 0, at = 0; at < block.length; i++, at += digestSize) {
    const chunk = block.subarray(at, Math.min(block.length, at + digestSize));
    const counter = Buffer.alloc(4);
    counter.writeUInt32BE(i);
    out.set(
      lazyCrypto()
        .createHash(hash)
        .update(counter)
        .update(chunk)
        .digest()
        .subarray(0, chunk.length),
      at,
    );
  }
  return out;
}

/**
 * Unlocks the LUKS header with `passphrase`: tries every active key slot and
 * returns a cipher for the image's data. A wrong passphrase (no slot's key
 * passes the master-key digest) is a typed `BAD_PASSPHRASE` error.
 */
export async function unlockLuks(
  source: ByteSource,
  luks: LuksInfo,
  passphrase: Uint8Array,
): Promise<SectorCipher> {
  const h = luks.header;
  if (h === null)
    throw new Qcow2Error("INVALID_STRUCTURE", `LUKS header cannot be read: ${luks.problem}`, {
      offset: luks.offset,
    });
  const spec = cipherSpec(h);
  if (h.keyBytes <= 0 || h.keyBytes > 64) {
    throw new Qcow2Error("INVALID_STRUCTURE", `LUKS key size ${h.keyBytes} is invalid`, {
      field: "key_bytes",
      value: h.keyBytes,
    });
  }
  for (const slot of h.keySlots) {
    if (!slot.active) continue;
    if (slot.stripes < 1 || slot.stripes > MAX_LUKS_STRIPES) {
      throw new Qcow2Error(
        "INVALID_STRUCTURE",
        `LUKS key slot ${slot.index} has ${slot.stripes} stripes`,
        { field: "stripes", value: slot.stripes },
      );
    }
    if (slot.iterations < 1 || slot.iterations > 100_000_000) {
      throw new Qcow2Error(
        "INVALID_STRUCTURE",
        `LUKS key slot ${slot.index} has ${slot.iterations} iterations`,
        { field: "iterations", value: slot.iterations },
      );
    }
    const slotKey = lazyCrypto().pbkdf2Sync(
      passphrase,
      slot.salt,
      slot.iterations,
      h.keyBytes,
      h.hashSpec,
    );
    const splitLength = Math.ceil((h.keyBytes * slot.stripes) / CRYPT_SECTOR) * CRYPT_SECTOR;
    if (splitLength > LIMITS.maxLuksKeyMaterial) {
      throw new Qcow2Error(
        "LIMIT_EXCEEDED",
        `LUKS key slot ${slot.index} key material of ${splitLength} bytes`,
        { field: "stripes", value: slot.stripes },
      );
    }
    const material = (
      await readExact(
        source,
        luks.offset + slot.keyMaterialSectors * CRYPT_SECTOR,
        splitLength,
        `LUKS key slot ${slot.index} key material`,
      )
    ).slice();
    decryptSectors(spec, slotKey, makeIvGen(spec, slotKey), material, 0);
    const masterKey = afMerge(material, h.keyBytes, slot.stripes, h.hashSpec);
    const digest = lazyCrypto().pbkdf2Sync(
      masterKey,
      h.mkDigestSalt,
      h.mkDigestIterations,
      20,
      h.hashSpec,
    );
    if (lazyCrypto().timingSafeEqual(digest, Buffer.from(h.mkDigest))) {
      const ivOf = makeIvGen(spec, masterKey);
      return {
        ivFrom: "host",
        decrypt: (data, ivOffset) =>
          decryptSectors(spec, masterKey, ivOf, data, ivOffset / CRYPT_SECTOR),
      };
    }
  }
  throw new Qcow2Error(
    "BAD_PASSPHRASE",
    "the passphrase unlocks no active LUKS key slot (master-key digest mismatch)",
    { field: "passphrase" },
  );
}

/**
 * Legacy QCOW/QCOW2 AES (crypt_method 1): AES-128-CBC, key = the passphrase's
 * first 16 bytes zero-padded, IV = the guest sector number (plain64).
 * Weak by design (predictable IVs, no key derivation); QEMU no longer creates it.
 */
export function legacyAes(passphrase: Uint8Array): SectorCipher {
  const key = Buffer.alloc(16);
  key.set(passphrase.subarray(0, 16));
  const spec: CipherSpec = {
    name: "aes-128-cbc",
    keyBytes: 16,
    mode: "cbc",
    ivgen: "plain64",
    ivgenHash: null,
    alg: "aes-128",
  };
  const ivOf = makeIvGen(spec, key);
  return {
    ivFrom: "guest",
    decrypt: (data, ivOffset) => decryptSectors(spec, key, ivOf, data, ivOffset / CRYPT_SECTOR),
  };
}
