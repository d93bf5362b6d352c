import type { ByteSource } from "../source/byte-source.js";
import type { L2Geometry } from "./l2-storage.js";
import type { MappingEntries } from "./shared-tables.js";

/**
 * One image of a backing chain, as the chain reader sees it: what it says
 * about a guest range (QEMU's block status) and the bytes it stores itself.
 */
export interface Layer {
  /** The file this layer was opened from (a path or source name). */
  readonly name: string;
  readonly format: "qcow2" | "qcow" | "raw";
  /** Guest-visible size in bytes. */
  readonly virtualSize: number;
  /** Which file this is and through which table it is seen (see {@link LayerIdentity}). */
  readonly identity: LayerIdentity;
  /**
   * The smallest guest range whose storage can differ from its neighbours'
   * (the cluster, or subcluster with extended L2 entries; 512 for raw files).
   */
  readonly granularity: number;
  /**
   * How this layer alone stores the range from `offset`: one kind, host
   * contiguous, at most `maxLength` bytes (≥ 1). Unlike {@link status} it
   * keeps what QEMU hides: host offsets of encrypted data and each
   * compressed cluster's descriptor.
   */
  storage(offset: number, maxLength: number): Promise<LayerStorage>;
  /** {@link storage} without waiting, when no read is needed; `undefined` otherwise. */
  storageSync?(offset: number, maxLength: number): LayerStorage | undefined;
  /**
   * The host offset of the mapping table (an L2 table) that maps `offset`,
   * 0 when there is none. Two layers of one image file with the same table
   * map its whole span ({@link mappingTableSpan} bytes) identically.
   */
  mappingTableAt?(offset: number): number;
  /** Guest bytes mapped by one table of {@link mappingTableAt}. */
  readonly mappingTableSpan?: number;
  /**
   * The raw entries of the mapping table that maps `offset` when it is
   * loaded (no read); `undefined` otherwise. Equal entries of two tables of
   * one image file map their guest range identically.
   */
  mappingEntriesSync?(offset: number): MappingEntries | undefined;
  /**
   * The raw entries of the mapping table that maps `offset`, read when not
   * loaded (`undefined`: no table there). Refuses a misaligned table as
   * {@link storage} does.
   */
  mappingEntries?(offset: number): Promise<MappingEntries | undefined>;
  /** How this layer's mapping entries decode (QCOW2 layers): for diffs entry by entry. */
  readonly l2Geometry?: L2Geometry;
  /**
   * QEMU's block status for `[offset, offset + maxLength)` in this layer
   * alone; the answer covers `length` bytes (≥ 1, ≤ maxLength).
   */
  status(offset: number, maxLength: number): Promise<LayerExtent>;
  /** {@link status} without waiting, when no read is needed; `undefined` otherwise. */
  statusSync?(offset: number, maxLength: number): LayerExtent | undefined;
  /**
   * Writes this layer's bytes for `[offset, offset + out.length)` into `out`
   * and returns the guest ranges it does not allocate, which the chain reads
   * from the backing layer. Every byte outside those ranges is written (zero
   * clusters as zeros): `out` may hold stale bytes on entry. The ranges
   * themselves are left untouched.
   */
  readOwn(out: Uint8Array, offset: number): Promise<GuestRange[]>;
  close(): Promise<void>;
}

/**
 * What a layer is, for comparisons: `file` names the image file's bytes (see
 * `sourceIdentity`), `view` the table it is read through (the active L1 table
 * or a snapshot's). Equal identities map the guest disk identically.
 */
export interface LayerIdentity {
  file: string;
  view: string;
}

/** How one layer stores a guest range (see {@link Layer.storage}). */
export interface LayerStorage {
  length: number;
  /** `unallocated`: this layer does not store the range; the layer below (or zeros) shows through. */
  kind: "unallocated" | "zero" | "data" | "compressed";
  /** data and compressed: the file the bytes are in (an external data file, for data, when the image has one). */
  source?: ByteSource;
  /** data: host offset of the range's first byte; compressed: of the compressed cluster. */
  offset?: number;
  /** compressed: bytes of the compressed stream (the descriptor's length). */
  compressedLength?: number;
  /** compressed: where the range starts inside the decompressed cluster. */
  inCluster?: number;
  /** The stored bytes are encrypted (the host offset locates ciphertext). */
  encrypted?: boolean;
}

/** A guest byte range `[start, start + length)`. */
export interface GuestRange {
  start: number;
  length: number;
}

/** One answer of {@link Layer.status}, flags named as QEMU's BDRV_BLOCK_*. */
export interface LayerExtent {
  length: number;
  /** BDRV_BLOCK_DATA: the layer stores data here. */
  data: boolean;
  /** BDRV_BLOCK_ZERO: the layer says the range reads as zeros. */
  zero: boolean;
  /** BDRV_BLOCK_OFFSET_VALID: host offset of the range's first byte… */
  offset?: number;
  /** …and the file it is in. */
  file?: string;
  /** Stored compressed (QEMU's BDRV_BLOCK_COMPRESSED). */
  compressed?: boolean;
}

/** Appends `[start, start+length)` to `ranges`, merging with the previous range when adjacent. */
export function pushRange(ranges: GuestRange[], start: number, length: number): void {
  const last = ranges[ranges.length - 1];
  if (last !== undefined && last.start + last.length === start) last.length += length;
  else ranges.push({ start, length });
}

/** The virtual size QEMU presents (bs->total_sectors): `size` rounded down to whole 512-byte sectors. */
export function wholeSectors(size: number): number {
  return Math.floor(size / 512) * 512;
}
