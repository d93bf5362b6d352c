import { Qcow2Error } from "../errors.js";
import { LIMITS } from "../limits.js";
import { type ByteSource, readPadded } from "../source/byte-source.js";

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

  /** Loads `size` entries at `offset`, bounded and bounds-checked. */
  static async load(
    source: ByteSource,
    offset: number,
    size: number,
    clusterSize: number,
    what: string,
  ): Promise<L1Table> {
    if (size > LIMITS.maxL1Entries) {
      throw new Qcow2Error(
        "L1_TOO_LARGE",
        `${what}: l1_size ${size} exceeds the limit of ${LIMITS.maxL1Entries} entries`,
        {
          field: "l1_size",
          value: size,
        },
      );
    }
    if (size === 0) return new L1Table(offset, 0, new Uint8Array(0));
    if (!Number.isFinite(offset) || offset % clusterSize !== 0) {
      throw new Qcow2Error(
        "INVALID_STRUCTURE",
        `${what}: L1 table offset ${offset} is not cluster-aligned`,
        {
          field: "l1_table_offset",
          value: offset,
          offset,
        },
      );
    }
    // QEMU zero-fills an L1 table that runs past end of file; so do we (check reports it).
    const bytes = await readPadded(source, offset, size * 8);
    return new L1Table(offset, size, bytes);
  }
}
