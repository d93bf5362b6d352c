import type { Qcow2Snapshot } from "../snapshots.js";

/** One snapshot as `qemu-img info --output=json` lists it. */
export interface QemuSnapshotInfo {
  /** QEMU's signed 64-bit instruction count; a `bigint` beyond 2^53. */
  icount?: number | bigint;
  "vm-clock-nsec": number;
  name: string;
  "date-sec": number;
  "date-nsec": number;
  "vm-clock-sec": number;
  id: string;
  /** A `bigint` beyond 2^53 (print with `stringifyQemuJson`). */
  "vm-state-size": number | bigint;
}

const TWO_63 = 1n << 63n;

/** A 64-bit field as QEMU's int64 prints it: values from 2^63 up are negative. */
const signed64 = (raw: bigint) => (raw >= TWO_63 ? raw - (1n << 64n) : raw);

/** icount as QEMU prints it (all ones, "not recorded", is already `null`). */
function icountOf(s: Qcow2Snapshot): number | bigint | null {
  return s.exact?.icount === undefined ? s.icount : signed64(BigInt(s.exact.icount));
}

/**
 * Snapshots in qemu-img's JSON keys; `icount` only when recorded, as QEMU
 * does. Values above 2^53 are exact `bigint`s.
 */
export function toQemuSnapshotList(snapshots: readonly Qcow2Snapshot[]): QemuSnapshotInfo[] {
  return snapshots.map((s) => ({
    ...(icountOf(s) === null ? {} : { icount: icountOf(s) as number | bigint }),
    "vm-clock-nsec": s.vmClockNsec,
    name: s.name,
    "date-sec": s.dateSec,
    "date-nsec": s.dateNsec,
    "vm-clock-sec": s.vmClockSec,
    id: s.id,
    // QAPI's vm-state-size is an int64: values from 2^63 up print negative, as icount's do.
    "vm-state-size":
      s.exact?.vmStateSize === undefined ? s.vmStateSize : signed64(BigInt(s.exact.vmStateSize)),
  }));
}
