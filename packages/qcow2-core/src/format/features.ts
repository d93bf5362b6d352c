/**
 * Feature bitmaps of the v3 header (qcow2.txt "Header", bytes 72–95), decoded
 * by name with unknown bits kept: an unknown incompatible bit makes an image
 * unreadable, an unknown compatible/autoclear bit is only reported.
 */

export type FeatureKind = "incompatible" | "compatible" | "autoclear";

/** Bits QEMU defines, with stable short names (QEMU's own feature table wording in comments). */
export const KNOWN_FEATURES: Readonly<Record<FeatureKind, Readonly<Record<number, string>>>> = {
  incompatible: {
    0: "dirty", // "dirty bit"
    1: "corrupt", // "corrupt bit"
    2: "external-data-file", // "external data file"
    3: "compression-type", // "compression type"
    4: "extended-l2", // "extended L2 entries"
  },
  compatible: {
    0: "lazy-refcounts", // "lazy refcounts"
  },
  autoclear: {
    0: "bitmaps", // "bitmaps"
    1: "raw-external-data", // "raw external data"
  },
};

export const INCOMPAT_DIRTY = 0;
export const INCOMPAT_CORRUPT = 1;
export const INCOMPAT_EXTERNAL_DATA_FILE = 2;
export const INCOMPAT_COMPRESSION_TYPE = 3;
export const INCOMPAT_EXTENDED_L2 = 4;
export const COMPAT_LAZY_REFCOUNTS = 0;
export const AUTOCLEAR_BITMAPS = 0;
export const AUTOCLEAR_DATA_FILE_RAW = 1;

/** A decoded feature bitmap. JSON-safe: the raw value is a hex string. */
export interface FeatureSet {
  /** The 64-bit bitmap as `0x…` hex. */
  value: string;
  /** Every set bit, ascending. */
  bits: number[];
  /** Names of the set bits QEMU defines. */
  names: string[];
  /** Set bits QEMU does not define. */
  unknownBits: number[];
}

/** Decodes a feature bitmap of `kind`. */
export function decodeFeatures(kind: FeatureKind, raw: bigint): FeatureSet {
  const known = KNOWN_FEATURES[kind];
  const bits: number[] = [];
  const names: string[] = [];
  const unknownBits: number[] = [];
  for (let bit = 0; bit < 64; bit++) {
    if (((raw >> BigInt(bit)) & 1n) === 0n) continue;
    bits.push(bit);
    const name = known[bit];
    if (name === undefined) unknownBits.push(bit);
    else names.push(name);
  }
  return { value: `0x${raw.toString(16)}`, bits, names, unknownBits };
}

/** True when `bit` is set in `set`. */
export function hasFeature(set: FeatureSet, bit: number): boolean {
  return set.bits.includes(bit);
}

/** An empty bitmap (v1/v2 headers have none). */
export function noFeatures(): FeatureSet {
  return { value: "0x0", bits: [], names: [], unknownBits: [] };
}
