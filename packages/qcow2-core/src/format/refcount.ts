/**
 * Refcount block entries (qcow2.txt "Host cluster management"): width
 * `2^refcount_order` bits, 1–64. Sub-byte widths are packed least-significant
 * bits first within each byte, as QEMU stores them (qcow2-refcount.c
 * get_refcount_ro0..ro2); wider ones are big-endian.
 */

/** Refcounts per refcount block: cluster_size * 8 / refcount_bits. */
export function refcountsPerBlock(clusterSize: number, refcountOrder: number): number {
  return (clusterSize * 8) / 2 ** refcountOrder;
}

/**
 * Entry `index` of a refcount block. A 64-bit refcount above 2^53 − 1 is
 * returned as `Infinity`: absurd, visibly so, never wrapped to a small count.
 */
export function refcountAt(block: Uint8Array, index: number, refcountOrder: number): number {
  switch (refcountOrder) {
    case 0:
      return ((block[index >>> 3] ?? 0) >>> (index & 7)) & 0x1;
    case 1:
      return ((block[index >>> 2] ?? 0) >>> ((index & 3) * 2)) & 0x3;
    case 2:
      return ((block[index >>> 1] ?? 0) >>> ((index & 1) * 4)) & 0xf;
    case 3:
      return block[index] ?? 0;
    case 4: {
      const at = index * 2;
      return (((block[at] ?? 0) << 8) | (block[at + 1] ?? 0)) >>> 0;
    }
    case 5: {
      const at = index * 4;
      return (
        (((block[at] ?? 0) << 24) |
          ((block[at + 1] ?? 0) << 16) |
          ((block[at + 2] ?? 0) << 8) |
          (block[at + 3] ?? 0)) >>>
        0
      );
    }
    case 6: {
      const at = index * 8;
      const view = new DataView(block.buffer, block.byteOffset, block.byteLength);
      if (at + 8 > block.length) return 0;
      const v = view.getBigUint64(at);
      return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.POSITIVE_INFINITY : Number(v);
    }
    default:
      throw new RangeError(`refcount_order ${refcountOrder} is outside 0–6`);
  }
}
