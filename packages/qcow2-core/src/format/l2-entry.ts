import {
  L1E_OFFSET_MASK,
  L2E_OFFSET_MASK,
  QCOW_OFLAG_COMPRESSED,
  QCOW_OFLAG_COPIED,
  QCOW_OFLAG_ZERO,
} from "./constants.js";

/**
 * How one guest cluster is stored, decoded from its L2 entry
 * (qcow2.txt "Cluster mapping"; QEMU `qcow2_get_cluster_type`).
 */
export type ClusterDescriptor =
  | { kind: "unallocated" }
  /** Reads as zeros; no host cluster (QCOW2_CLUSTER_ZERO_PLAIN). */
  | { kind: "zero-plain" }
  /** Reads as zeros; a host cluster stays allocated (QCOW2_CLUSTER_ZERO_ALLOC). */
  | { kind: "zero-alloc"; hostOffset: number }
  | { kind: "normal"; hostOffset: number }
  /** `hostOffset` is a byte offset; `compressedLength` is what QEMU reads there. */
  | { kind: "compressed"; hostOffset: number; compressedLength: number };

/** The host offset an L1 entry points to (0 = no L2 table). */
export function l1EntryOffset(entry: bigint): bigint {
  return entry & L1E_OFFSET_MASK;
}

/** Bits of a standard L1/L2 entry that the spec reserves (must be zero). */
export function l2ReservedBits(entry: bigint): bigint {
  return entry & ~(L2E_OFFSET_MASK | QCOW_OFLAG_COPIED | QCOW_OFLAG_ZERO | QCOW_OFLAG_COMPRESSED);
}

/**
 * Splits a compressed-cluster descriptor as QEMU does: the host offset is the
 * low `62 − (cluster_bits − 8)` bits, the count of additional 512-byte
 * sectors sits above it (qcow2.txt "Compressed Clusters Descriptor").
 */
export function decodeCompressedDescriptor(
  entry: bigint,
  clusterBits: number,
): { hostOffset: number; compressedLength: number } {
  const shift = BigInt(62 - (clusterBits - 8));
  const offsetMask = (1n << shift) - 1n;
  const sectorsMask = (1n << BigInt(clusterBits - 8)) - 1n;
  const hostOffset = Number(entry & offsetMask);
  const sectors = Number((entry >> shift) & sectorsMask) + 1;
  // QEMU reads nb_csectors * 512 bytes minus the offset's position in its first sector.
  return { hostOffset, compressedLength: sectors * 512 - (hostOffset % 512) };
}

/** Image-wide facts that change how an L2 entry reads. */
export interface L2Context {
  /** In an external data file offset 0 is valid, so the COPIED flag decides (QEMU). */
  hasDataFile?: boolean;
  /** With extended L2 entries, zeroes live in the subcluster bitmap, not bit 0. */
  extendedL2?: boolean;
}

/** Bytes per L2 entry: 16 with extended L2 (entry + subcluster bitmap), else 8. */
export function l2EntrySize(extendedL2: boolean): number {
  return extendedL2 ? 16 : 8;
}

/**
 * Decodes the first 64-bit word of an L2 entry (QEMU `qcow2_get_cluster_type`).
 */
export function decodeL2Entry(
  entry: bigint,
  clusterBits: number,
  context: L2Context = {},
): ClusterDescriptor {
  const { hasDataFile = false, extendedL2 = false } = context;
  if ((entry & QCOW_OFLAG_COMPRESSED) !== 0n) {
    return { kind: "compressed", ...decodeCompressedDescriptor(entry, clusterBits) };
  }
  const hostOffset = Number(entry & L2E_OFFSET_MASK);
  if ((entry & QCOW_OFLAG_ZERO) !== 0n && !extendedL2) {
    return hostOffset === 0 ? { kind: "zero-plain" } : { kind: "zero-alloc", hostOffset };
  }
  if (hostOffset === 0) {
    if (hasDataFile && (entry & QCOW_OFLAG_COPIED) !== 0n) return { kind: "normal", hostOffset: 0 };
    return { kind: "unallocated" };
  }
  return { kind: "normal", hostOffset };
}

/**
 * The state of one subcluster (or of a whole cluster without extended L2),
 * as QEMU's `qcow2_get_subcluster_type` classifies it.
 */
export type SubclusterType =
  | "normal"
  | "compressed"
  | "zero-plain"
  | "zero-alloc"
  | "unallocated-plain"
  | "unallocated-alloc"
  | "invalid";

/** Subclusters per cluster with extended L2 entries (qcow2.txt "Extended L2 Entries"). */
export const SUBCLUSTERS_PER_CLUSTER = 32;

/**
 * Classifies subcluster `index` of a cluster from its decoded entry and its
 * extended-L2 bitmap (bits 0–31 allocated, 32–63 reads-as-zero).
 */
export function subclusterType(
  d: ClusterDescriptor,
  bitmap: bigint,
  index: number,
): SubclusterType {
  const alloc = (bitmap >> BigInt(index)) & 1n;
  const zero = (bitmap >> BigInt(index + 32)) & 1n;
  switch (d.kind) {
    case "compressed":
      return "compressed";
    case "normal":
      if (((bitmap >> 32n) & bitmap & 0xffffffffn) !== 0n) return "invalid";
      if (zero) return "zero-alloc";
      return alloc ? "normal" : "unallocated-alloc";
    case "unallocated":
      if ((bitmap & 0xffffffffn) !== 0n) return "invalid";
      return zero ? "zero-plain" : "unallocated-plain";
    default:
      // Bit 0 is not a zero flag with extended L2, so these kinds cannot occur.
      return "invalid";
  }
}

/** The type of a whole cluster without extended L2. */
export function clusterType(d: ClusterDescriptor): SubclusterType {
  return d.kind === "unallocated" ? "unallocated-plain" : d.kind;
}
