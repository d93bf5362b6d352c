import { isQcow2Error, type Qcow2Error } from "./errors.js";
import type { OutOfRangeField } from "./format/numbers.js";
import { toSafeNumber } from "./format/numbers.js";
import type { HeaderProblem } from "./format/problems.js";
import {
  decodeSnapshotExtra,
  decodeSnapshotFixed,
  SNAPSHOT_ENTRY_FIXED_SIZE,
  splitNanoseconds,
} from "./format/snapshot-table.js";
import { decodeString } from "./format/strings.js";
import { inspect, type Qcow2Info } from "./inspect.js";
import { LIMITS } from "./limits.js";
import type { ByteSource } from "./source/byte-source.js";
import { SourceCursor } from "./source/cursor.js";

/** One internal snapshot (qcow2.txt "Snapshots"). */
export interface Qcow2Snapshot {
  /** Position in the snapshot table (0-based). */
  index: number;
  /** Host offset of this entry. */
  offset: number;
  /** Unique id string (QEMU numbers them "1", "2", …). */
  id: string;
  name: string;
  /** Creation time, seconds since the Unix epoch. */
  dateSec: number;
  dateNsec: number;
  /** Guest (VM) clock at creation, split exactly into seconds and nanoseconds. */
  vmClockSec: number;
  vmClockNsec: number;
  /** VM state (RAM) size from the 32-bit field. */
  vmStateSize32: number;
  /** VM state size: the 64-bit extra-data field when present, else the 32-bit field. */
  vmStateSize: number;
  /** Virtual disk size at snapshot time (extra data), if recorded. */
  diskSize: number | null;
  /** Instruction count (record/replay), if recorded. */
  icount: number | null;
  l1TableOffset: number;
  l1Size: number;
  extraDataSize: number;
  /** The entry runs past end of file; its missing bytes read as zeros (as QEMU reads them). */
  incomplete: boolean;
}

/** The snapshot table as far as it could be read. */
export interface SnapshotTable {
  /** The entries that parsed completely, in table order. */
  snapshots: Qcow2Snapshot[];
  /** `nb_snapshots` from the header. */
  expected: number;
  /** True when the table ended (end of file or a bound) before `expected` entries. */
  truncated: boolean;
  /** Bytes the parsed entries span, padding included (QEMU's `snapshots_size`). */
  tableBytes: number;
  /** Why the table is short or odd. */
  problems: HeaderProblem[];
  outOfRange: OutOfRangeField[];
}

/**
 * Enumerates the internal snapshots of a QCOW2 image. A table that ends early
 * yields the entries that parsed and `truncated: true`; only a non-QCOW input
 * or an I/O failure throws.
 *
 * @example
 * ```ts
 * const { snapshots, truncated } = await readSnapshots(source);
 * for (const s of snapshots) console.log(s.id, s.name, new Date(s.dateSec * 1000));
 * ```
 */
export async function readSnapshots(source: ByteSource, info?: Qcow2Info): Promise<SnapshotTable> {
  const header = info ?? (await inspect(source));
  try {
    return await readTable(source, header);
  } catch (e) {
    throw isQcow2Error(e) ? (e as Qcow2Error).withFile(source.name) : e;
  }
}

async function readTable(source: ByteSource, info: Qcow2Info): Promise<SnapshotTable> {
  const table: SnapshotTable = {
    snapshots: [],
    expected: info.snapshotCount,
    truncated: false,
    tableBytes: 0,
    problems: [],
    outOfRange: [],
  };
  if (info.version === 1 || info.snapshotCount === 0) return table;
  if (!Number.isFinite(info.snapshotsOffset) || info.snapshotsOffset >= source.size) {
    table.truncated = true;
    table.problems.push({
      field: "snapshots_offset",
      value: String(info.snapshotsOffset),
      message: `snapshot table offset ${info.snapshotsOffset} is past end of file (${source.size})`,
    });
    return table;
  }
  if (
    info.snapshotsOffset % 8 !== 0 ||
    (info.clusterSize !== null && info.snapshotsOffset % info.clusterSize !== 0)
  ) {
    table.problems.push({
      field: "snapshots_offset",
      value: String(info.snapshotsOffset),
      message: `snapshot table offset ${info.snapshotsOffset} is not cluster-aligned`,
      offset: info.snapshotsOffset,
    });
  }
  let count = info.snapshotCount;
  if (count > LIMITS.maxSnapshots) {
    table.problems.push({
      field: "nb_snapshots",
      value: String(count),
      message: `nb_snapshots ${count} exceeds QEMU's limit of ${LIMITS.maxSnapshots}; only that many were read`,
    });
    table.truncated = true;
    count = LIMITS.maxSnapshots;
  }

  const cursor = new SourceCursor(source, info.snapshotsOffset);
  const tableEnd = info.snapshotsOffset + LIMITS.maxSnapshotTableBytes;
  for (let index = 0; index < count; index++) {
    // QEMU aligns each entry's start to 8 bytes.
    cursor.position = Math.ceil(cursor.position / 8) * 8;
    const offset = cursor.position;
    if (offset >= source.size) {
      markTruncated(table, offset, `entries ${index}–${count - 1} lie past end of file`);
      return table;
    }
    // An entry that runs past end of file reads as zero-filled, as QEMU reads
    // it; it is kept and flagged incomplete.
    const fixed = decodeSnapshotFixed(await cursor.takePadded(SNAPSHOT_ENTRY_FIXED_SIZE));
    if (fixed.extra_data_size > LIMITS.maxSnapshotExtraData) {
      table.problems.push({
        field: "extra_data_size",
        value: String(fixed.extra_data_size),
        message: `snapshot ${index} extra data size ${fixed.extra_data_size} exceeds QEMU's limit of ${LIMITS.maxSnapshotExtraData}`,
        offset,
      });
    }
    const extraLen = Math.min(fixed.extra_data_size, 24);
    const extraBytes = await cursor.takePadded(extraLen);
    cursor.position += fixed.extra_data_size - extraLen;
    const idBytes = await cursor.takePadded(fixed.id_str_size);
    const nameBytes = await cursor.takePadded(fixed.name_size);
    const incomplete = cursor.position > source.size;
    if (incomplete) markTruncated(table, offset, `snapshot table entry ${index} is incomplete`);
    if (cursor.position > tableEnd) {
      table.problems.push({
        field: "snapshot table",
        value: String(cursor.position - info.snapshotsOffset),
        message: `snapshot table exceeds QEMU's limit of ${LIMITS.maxSnapshotTableBytes} bytes`,
        offset: info.snapshotsOffset,
      });
      table.truncated = true;
      return table;
    }

    const extra = decodeSnapshotExtra(extraBytes, table.outOfRange);
    const clock = splitNanoseconds(fixed.vm_clock_nsec);
    table.snapshots.push({
      index,
      offset,
      id: decodeString(idBytes, LIMITS.maxSnapshotString),
      name: decodeString(nameBytes, LIMITS.maxSnapshotString),
      dateSec: fixed.date_sec,
      dateNsec: fixed.date_nsec,
      vmClockSec: clock.sec,
      vmClockNsec: clock.nsec,
      vmStateSize32: fixed.vm_state_size,
      vmStateSize: extra.vmStateSizeLarge ?? fixed.vm_state_size,
      diskSize: extra.diskSize,
      icount: extra.icount,
      l1TableOffset: toSafeNumber(
        fixed.l1_table_offset,
        "snapshot l1_table_offset",
        table.outOfRange,
      ),
      l1Size: fixed.l1_size,
      extraDataSize: fixed.extra_data_size,
      incomplete,
    });
    table.tableBytes = cursor.position - info.snapshotsOffset;
  }
  return table;
}

function markTruncated(table: SnapshotTable, offset: number, message: string): void {
  table.truncated = true;
  table.problems.push({
    field: "snapshot table",
    value: String(table.snapshots.length),
    message,
    offset,
  });
}
