import { decodeLayout, type Layout } from "./layout.js";
import { type OutOfRangeField, toSafeNumber } from "./numbers.js";

/** Fixed part of a snapshot table entry (qcow2.txt "Snapshots"), 40 bytes. */
export const SNAPSHOT_ENTRY_LAYOUT = {
  l1_table_offset: { offset: 0, type: "u64" },
  l1_size: { offset: 8, type: "u32" },
  id_str_size: { offset: 12, type: "u16" },
  name_size: { offset: 14, type: "u16" },
  date_sec: { offset: 16, type: "u32" },
  date_nsec: { offset: 20, type: "u32" },
  vm_clock_nsec: { offset: 24, type: "u64" },
  vm_state_size: { offset: 32, type: "u32" },
  extra_data_size: { offset: 36, type: "u32" },
} as const satisfies Layout;

export const SNAPSHOT_ENTRY_FIXED_SIZE = 40;

/** Extra data QEMU 7.2 understands (vm_state_size_large, disk_size, icount); more is kept opaque. */
export const SNAPSHOT_EXTRA_KNOWN_SIZE = 24;

/** Optional extra data (qcow2.txt "Snapshots", extra data bytes 0–23). */
export const SNAPSHOT_EXTRA_LAYOUT = {
  vm_state_size_large: { offset: 0, type: "u64" },
  disk_size: { offset: 8, type: "u64" },
  icount: { offset: 16, type: "u64" },
} as const satisfies Layout;

export type SnapshotEntryFixed = ReturnType<typeof decodeSnapshotFixed>;

/** Decodes the 40-byte fixed part of a snapshot entry. */
export function decodeSnapshotFixed(bytes: Uint8Array) {
  return decodeLayout(bytes, 0, SNAPSHOT_ENTRY_LAYOUT);
}

/** Facts decoded from a snapshot's extra data; `null` where the field is absent. */
export interface SnapshotExtra {
  vmStateSizeLarge: number | null;
  diskSize: number | null;
  icount: number | null;
}

const ICOUNT_UNSET = 0xffffffffffffffffn;

/** Decodes as much extra data as `bytes` holds (8, 16 or 24+ bytes). */
export function decodeSnapshotExtra(
  bytes: Uint8Array,
  outOfRange: OutOfRangeField[],
  index?: number,
): SnapshotExtra {
  const name = (field: string) => (index === undefined ? field : `snapshot[${index}].${field}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u64 = (at: number) => (bytes.length >= at + 8 ? view.getBigUint64(at) : null);
  const large = u64(SNAPSHOT_EXTRA_LAYOUT.vm_state_size_large.offset);
  const disk = u64(SNAPSHOT_EXTRA_LAYOUT.disk_size.offset);
  const icount = u64(SNAPSHOT_EXTRA_LAYOUT.icount.offset);
  return {
    vmStateSizeLarge:
      large === null ? null : toSafeNumber(large, name("vm_state_size_large"), outOfRange),
    diskSize: disk === null ? null : toSafeNumber(disk, name("disk_size"), outOfRange),
    // All-ones means "not recorded" (QEMU writes -1 when icount is off).
    icount:
      icount === null || icount === ICOUNT_UNSET
        ? null
        : toSafeNumber(icount, name("icount"), outOfRange),
  };
}

/** Splits a nanosecond count exactly into seconds and the nanosecond remainder. */
export function splitNanoseconds(ns: bigint): { sec: number; nsec: number } {
  return { sec: Number(ns / 1_000_000_000n), nsec: Number(ns % 1_000_000_000n) };
}
