/**
 * Fast decoding of 64-bit table entries as two 32-bit words, for scans over
 * millions of entries where a `bigint` per entry would dominate the cost.
 * Every offset field is a multiple of 512 below 2^56, so it is exact as a
 * JS number.
 */

const TWO_32 = 2 ** 32;

/** Bits 9–55 (qcow2.txt L1/L2 offset field). */
export function offsetField(hi: number, lo: number): number {
  return (hi & 0x00ffffff) * TWO_32 + ((lo & 0xfffffe00) >>> 0);
}

/** Refcount table entries keep bits 9–63 as the offset (REFT_OFFSET_MASK). */
export function refTableOffset(hi: number, lo: number): number {
  return (hi >>> 0) * TWO_32 + ((lo & 0xfffffe00) >>> 0);
}

export const isCopied = (hi: number) => (hi & 0x80000000) !== 0;
export const isCompressed = (hi: number) => (hi & 0x40000000) !== 0;
export const hasZeroFlag = (lo: number) => (lo & 1) !== 0;

/** L1E_RESERVED_MASK 0x7f000000000001ff. */
export const l1Reserved = (hi: number, lo: number) => (hi & 0x7f000000) !== 0 || (lo & 0x1ff) !== 0;
/** L2E_STD_RESERVED_MASK 0x3f000000000001fe. */
export const l2Reserved = (hi: number, lo: number) => (hi & 0x3f000000) !== 0 || (lo & 0x1fe) !== 0;
/** REFT_RESERVED_MASK 0x1ff. */
export const refTableReserved = (lo: number) => (lo & 0x1ff) !== 0;

/** The compressed-cluster descriptor split at 62 − (cluster_bits − 8), in 32-bit arithmetic. */
export function compressedDescriptor(
  hi: number,
  lo: number,
  clusterBits: number,
): { hostOffset: number; length: number } {
  const offsetBits = 70 - clusterBits; // 49..61 bits of offset
  const hiOffsetBits = offsetBits - 32;
  const hostOffset = (hi & ((1 << hiOffsetBits) - 1)) * TWO_32 + (lo >>> 0);
  const sectors = ((hi >>> hiOffsetBits) & ((1 << (clusterBits - 8)) - 1)) + 1;
  return { hostOffset, length: sectors * 512 - (hostOffset % 512) };
}

/** The compressed-cluster host offset at full width (it can exceed 2^53 for small clusters). */
export function compressedOffset(hi: number, lo: number, clusterBits: number): bigint {
  const offsetBits = BigInt(70 - clusterBits);
  const word = (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
  return word & ((1n << offsetBits) - 1n);
}

/**
 * The first entry from `i` with a non-zero word (`entries` when none): most
 * entries of most tables are zero, skipped four at a time.
 */
export function nextNonZero(
  words: Int32Array,
  i: number,
  entries: number,
  wordsPerEntry: number,
): number {
  let w = i * wordsPerEntry;
  const end = entries * wordsPerEntry;
  while (w + 8 <= end) {
    if (
      ((words[w] as number) |
        (words[w + 1] as number) |
        (words[w + 2] as number) |
        (words[w + 3] as number) |
        (words[w + 4] as number) |
        (words[w + 5] as number) |
        (words[w + 6] as number) |
        (words[w + 7] as number)) !==
      0
    )
      break;
    w += 8;
  }
  while (w < end && (words[w] as number) === 0) w++;
  return w >= end ? entries : Math.floor(w / wordsPerEntry);
}
