import { Qcow2Error } from "./errors.js";
import { REFT_OFFSET_MASK } from "./format/constants.js";
import { refcountAt, refcountsPerBlock } from "./format/refcount.js";
import type { Qcow2Info } from "./inspect.js";
import { LIMITS } from "./limits.js";
import { LruCache } from "./reader/lru-cache.js";
import { type ByteSource, readExact } from "./source/byte-source.js";

/**
 * The refcount table and its blocks (qcow2.txt "Host cluster management"),
 * answering "what refcount does the image store for host cluster N?".
 */
export class RefcountTable {
  private readonly view: DataView;
  private readonly blocks = new LruCache<number, Uint8Array | null>(64);
  readonly entries: number;
  readonly perBlock: number;

  private constructor(
    private readonly source: ByteSource,
    readonly clusterSize: number,
    readonly refcountOrder: number,
    bytes: Uint8Array,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.entries = bytes.length / 8;
    this.perBlock = refcountsPerBlock(clusterSize, refcountOrder);
  }

  /**
   * Loads the refcount table. Fails loudly: an I/O failure or a table past
   * end of file is an error, never an empty table that would read as clean.
   */
  static async load(source: ByteSource, info: Qcow2Info): Promise<RefcountTable> {
    const clusterSize = info.clusterSize;
    if (clusterSize === null) {
      throw new Qcow2Error(
        "CLUSTER_BITS_OUT_OF_RANGE",
        `cluster_bits ${info.clusterBits} is outside 9–21`,
        {
          field: "cluster_bits",
          value: info.clusterBits,
        },
      );
    }
    assertRefcountOrder(info);
    const bytes = info.refcountTableClusters * clusterSize;
    if (bytes > LIMITS.maxRefcountTableBytes) {
      throw new Qcow2Error(
        "LIMIT_EXCEEDED",
        `refcount table of ${info.refcountTableClusters} clusters exceeds QEMU's limit of ${LIMITS.maxRefcountTableBytes} bytes`,
        { field: "refcount_table_clusters", value: info.refcountTableClusters },
      );
    }
    if (
      !Number.isFinite(info.refcountTableOffset) ||
      info.refcountTableOffset % clusterSize !== 0
    ) {
      throw new Qcow2Error(
        "INVALID_STRUCTURE",
        `refcount table offset ${info.refcountTableOffset} is not cluster-aligned`,
        {
          field: "refcount_table_offset",
          value: info.refcountTableOffset,
        },
      );
    }
    const table = await readExact(source, info.refcountTableOffset, bytes, "refcount table");
    return new RefcountTable(source, clusterSize, info.refcountOrder, table);
  }

  /** Host offset of refcount block `index` (0 = none allocated). */
  blockOffset(index: number): number {
    if (index >= this.entries) return 0;
    return Number(this.view.getBigUint64(index * 8) & REFT_OFFSET_MASK);
  }

  /**
   * The stored refcount of host cluster `clusterIndex`; `null` when it cannot
   * be resolved (outside the table, block misaligned or past end of file).
   * A missing block means refcount 0, which is resolvable.
   */
  async refcount(clusterIndex: number): Promise<number | null> {
    const tableIndex = Math.floor(clusterIndex / this.perBlock);
    if (tableIndex >= this.entries) return null;
    const blockOffset = this.blockOffset(tableIndex);
    if (blockOffset === 0) return 0;
    const block = await this.block(blockOffset);
    if (block === null) return null;
    return refcountAt(block, clusterIndex - tableIndex * this.perBlock, this.refcountOrder);
  }

  private async block(offset: number): Promise<Uint8Array | null> {
    const cached = this.blocks.get(offset);
    if (cached !== undefined) return cached;
    let block: Uint8Array | null = null;
    if (offset % this.clusterSize === 0 && offset + this.clusterSize <= this.source.size) {
      block = await readExact(this.source, offset, this.clusterSize, "refcount block");
    }
    this.blocks.set(offset, block);
    return block;
  }
}

/** Refcount widths are 1–64 bits: `refcount_order` 0–6, or the image is refused. */
export function assertRefcountOrder(info: Pick<Qcow2Info, "refcountOrder">): void {
  if (info.refcountOrder >= 0 && info.refcountOrder <= 6) return;
  throw new Qcow2Error("INVALID_STRUCTURE", `refcount_order ${info.refcountOrder} is outside 0–6`, {
    field: "refcount_order",
    value: info.refcountOrder,
  });
}
