import { isQcow2Error, Qcow2Error } from "./errors.js";
import { hasFeature, INCOMPAT_EXTENDED_L2 } from "./format/features.js";
import { l2EntrySize } from "./format/l2-entry.js";
import { inspect } from "./inspect.js";
import { type Decompressor, fflateDecompressor, fzstdDecompressor } from "./reader/decompress.js";
import { assertReadable } from "./reader/open-checks.js";
import { Qcow2Layer } from "./reader/qcow2-layer.js";
import { type Qcow2Snapshot, readSnapshots } from "./snapshots.js";
import type { ByteSource } from "./source/byte-source.js";

/** A snapshot's saved VM state (RAM and device state), readable in chunks. */
export interface VmState {
  snapshot: Qcow2Snapshot;
  /** Size of the blob in bytes (the snapshot's 64-bit VM state size). */
  size: number;
  /** Guest offset where QEMU stores it in the snapshot's L1/L2 space. */
  guestOffset: number;
  /** Reads `length` bytes of the blob at `offset` (clipped at its end). */
  read(offset: number, length: number): Promise<Uint8Array>;
}

/**
 * Opens the VM state saved with snapshot `wanted` (id first, then name). QEMU
 * stores it through the snapshot's L1 table just past the L1 entries that
 * map the disk (block/qcow2.c `qcow2_vm_state_offset`).
 *
 * @example
 * ```ts
 * const vm = await openVmState(source, "before-update");
 * const head = await vm.read(0, 64);
 * ```
 */
export async function openVmState(
  source: ByteSource,
  wanted: string,
  options: { decompressor?: Decompressor } = {},
): Promise<VmState> {
  try {
    const info = await inspect(source);
    const table = await readSnapshots(source, info);
    assertReadable(info, { snapshots: table });
    const snapshot =
      table.snapshots.find((s) => s.id === wanted) ??
      table.snapshots.find((s) => s.name === wanted);
    if (snapshot === undefined) {
      throw new Qcow2Error(
        "SNAPSHOT_NOT_FOUND",
        `no snapshot with id or name ${JSON.stringify(wanted)}`,
        { field: "snapshot", value: wanted },
      );
    }
    const cs = info.clusterSize as number;
    const perL1 =
      cs * (cs / l2EntrySize(hasFeature(info.incompatibleFeatures, INCOMPAT_EXTENDED_L2)));
    const diskSize = snapshot.diskSize ?? info.virtualSize;
    const guestOffset = Math.ceil(diskSize / perL1) * perL1;
    const size = snapshot.vmStateSize;
    if (!Number.isSafeInteger(guestOffset + size)) {
      throw new Qcow2Error(
        "OUT_OF_RANGE",
        `snapshot ${snapshot.id}: VM state of ${size} bytes at guest offset ${guestOffset} cannot be addressed`,
        { field: "vm_state_size", value: String(snapshot.vmStateSize) },
      );
    }
    const layer = await Qcow2Layer.open(source, info, {
      snapshot,
      dataSource: null,
      deflate: options.decompressor ?? fflateDecompressor,
      zstd: fzstdDecompressor,
      virtualSizeOverride: guestOffset + size,
    });
    return {
      snapshot,
      size,
      guestOffset,
      async read(offset: number, length: number): Promise<Uint8Array> {
        const end = Math.min(size, offset + length);
        const out = new Uint8Array(Math.max(0, end - offset));
        // The VM state has no backing file: unallocated parts read as zeros.
        await layer.readOwn(out, guestOffset + offset);
        return out;
      },
    };
  } catch (e) {
    throw isQcow2Error(e) ? (e as Qcow2Error).withFile(source.name) : e;
  }
}
