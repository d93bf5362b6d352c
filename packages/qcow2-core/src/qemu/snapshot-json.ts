import type { Qcow2Snapshot } from "../snapshots.js";

/** One snapshot as `qemu-img info --output=json` lists it. */
export interface QemuSnapshotInfo {
  icount?: number;
  "vm-clock-nsec": number;
  name: string;
  "date-sec": number;
  "date-nsec": number;
  "vm-clock-sec": number;
  id: string;
  "vm-state-size": number;
}

/** Snapshots in qemu-img's JSON keys; `icount` only when recorded, as QEMU does. */
export function toQemuSnapshotList(snapshots: readonly Qcow2Snapshot[]): QemuSnapshotInfo[] {
  return snapshots.map((s) => ({
    ...(s.icount === null ? {} : { icount: s.icount }),
    "vm-clock-nsec": s.vmClockNsec,
    name: s.name,
    "date-sec": s.dateSec,
    "date-nsec": s.dateNsec,
    "vm-clock-sec": s.vmClockSec,
    id: s.id,
    "vm-state-size": s.vmStateSize,
  }));
}
