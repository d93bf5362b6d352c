import { Qcow2Error } from "../errors.js";
import { offsetField } from "../format/entry-words.js";
import { validateTable } from "../format/validate-table.js";
import { LIMITS } from "../limits.js";
import { type ByteSource, readSmallPadded } from "../source/byte-source.js";

/** An L1 table held as raw big-endian bytes (8 bytes per entry). */
export class L1Table {
  private readonly view: DataView;

  constructor(
    readonly offset: number,
    readonly size: number,
    bytes: Uint8Array,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Entry `index`, or 0n (no L2 table) past the end. */
  entry(index: number): bigint {
    return index < this.size ? this.view.getBigUint64(index * 8) : 0n;
  }

  /**
   * The L2 table offset of entry `index` (bits 9–55, exact as a number), 0
   * past the end: what walks ask once per step, without a `bigint` each.
   */
  offsetAt(index: number): number {
    if (index >= this.size) return 0;
    return offsetField(this.view.getUint32(index * 8), this.view.getUint32(index * 8 + 4));
  }

  /**
   * Loads `size` entries at `offset` (exact, 64-bit), refused as QEMU's
   * qcow2_validate_table refuses it (misaligned, too large, beyond the
   * signed 64-bit range). A table past end of file reads as zeros, as in
   * QEMU: nothing is allocated there (check reports it).
   */
  static async load(
    source: ByteSource,
    offset: bigint,
    size: number,
    clusterSize: number,
    what: string,
  ): Promise<L1Table> {
    const refused = validateTable(
      offset,
      size,
      8,
      LIMITS.maxL1Entries * 8,
      clusterSize,
      "L1 table",
    );
    if (refused !== null) {
      throw new Qcow2Error(
        refused.endsWith("too large") ? "L1_TOO_LARGE" : "INVALID_STRUCTURE",
        `${what}: ${refused} (l1_table_offset 0x${offset.toString(16)}, l1_size ${size})`,
        {
          field: refused.endsWith("too large") ? "l1_size" : "l1_table_offset",
          value: refused.endsWith("too large") ? size : offset,
        },
      );
    }
    const at = Number(offset);
    if (size === 0 || offset >= BigInt(source.size))
      return new L1Table(at, size, new Uint8Array(size * 8));
    return new L1Table(at, size, await readSmallPadded(source, at, size * 8));
  }
}
