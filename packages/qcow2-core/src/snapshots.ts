import { isQcow2Error, type Qcow2Error } from "./errors.js";
import type { OutOfRangeField } from "./format/numbers.js";
import { exactField, toSafeNumber } from "./format/numbers.js";
import type { HeaderProblem } from "./format/problems.js";
import {
  decodeSnapshotExtra,
  decodeSnapshotFixed,
  SNAPSHOT_ENTRY_FIXED_SIZE,
  SNAPSHOT_EXTRA_KNOWN_SIZE,
  splitNanoseconds,
} from "./format/snapshot-table.js";
import { decodeString } from "./format/strings.js";
import { validateTable } from "./format/validate-table.js";
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
  /**
   * Exact decimal values of the 64-bit fields above 2^53 − 1 (whose number
   * fields above are `NaN`), present only when there are such fields.
   */
  exact?: Partial<Record<"l1TableOffset" | "vmStateSize" | "diskSize" | "icount", string>>;
  /**
   * How much of the entry lies past end of file. QEMU reads those bytes as
   * zeros and lists the entry anyway (an entry wholly past the end is an
   * empty snapshot dated 1970); an examiner should not take it for a real one.
   */
  pastEof: "none" | "partly" | "wholly";
}

/** Why QEMU will not read a snapshot table (it refuses to open the image), in QEMU's words. */
export interface SnapshotTableError {
  /** QEMU's message, e.g. "Snapshot table too large", "Too much extra metadata in snapshot table entry 3". */
  message: string;
  field: string;
  value: string;
  /** The entry at fault, for per-entry limits. */
  index?: number;
}

/** The snapshot table as QEMU reads it. */
export interface SnapshotTable {
  /**
   * Every entry QEMU reads, in table order: `nb_snapshots` of them (at most
   * QEMU's 65,536), entries past end of file zero-filled as QEMU reads them.
   * Reading stops early only where QEMU gives up (see `qemuError`).
   */
  snapshots: Qcow2Snapshot[];
  /** `nb_snapshots` from the header. */
  expected: number;
  /** True when some entries lie (partly) past end of file, or reading stopped before `expected` entries. */
  truncated: boolean;
  /** Bytes the entries span, padding included (QEMU's `snapshots_size`). */
  tableBytes: number;
  /**
   * Zero-filled entries past end of file left out of `snapshots` because
   * QEMU refuses this table anyway (`qemuError`) and lists none of them.
   */
  omittedPastEof: number;
  /** Why the table is short or odd. */
  problems: HeaderProblem[];
  outOfRange: OutOfRangeField[];
  /**
   * Set when QEMU refuses this table, and so the image (qemu-img info, convert
   * and check fail with this message); `null` when QEMU reads it.
   */
  qemuError: SnapshotTableError | null;
}

/**
 * Enumerates the internal snapshots of a QCOW2 image exactly as QEMU reads
 * them (block/qcow2-snapshot.c): entries 8-byte aligned, bytes past end of
 * file read as zeros, QEMU's limits on the count, the extra data and the
 * table size reported in `qemuError`. Lenient: a table QEMU refuses is still
 * read as far as the bounds allow, for the examiner. Only a non-QCOW input or
 * an I/O failure throws.
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

/** The `outOfRange` name of entry `index`'s L1 table offset (its exact value when above 2^53). */
export const snapshotL1Field = (index: number) => `snapshot[${index}].l1_table_offset`;

/** The exact values of an entry's out-of-range fields, keyed as in {@link Qcow2Snapshot}. */
function exactFields(fields: readonly OutOfRangeField[]): Qcow2Snapshot["exact"] {
  if (fields.length === 0) return undefined;
  const out: NonNullable<Qcow2Snapshot["exact"]> = {};
  for (const f of fields) {
    const key = f.field.slice(f.field.indexOf(".") + 1);
    if (key === "l1_table_offset") out.l1TableOffset = f.value;
    else if (key === "vm_state_size_large") out.vmStateSize = f.value;
    else if (key === "disk_size") out.diskSize = f.value;
    else if (key === "icount") out.icount = f.value;
  }
  return out;
}

/** Bytes of the entry that follow its fixed part: extra data, id, name. */
const variableBytes = (f: { extra_data_size: number; id_str_size: number; name_size: number }) =>
  f.extra_data_size + f.id_str_size + f.name_size;

async function readTable(source: ByteSource, info: Qcow2Info): Promise<SnapshotTable> {
  const table: SnapshotTable = {
    snapshots: [],
    expected: info.snapshotCount,
    truncated: false,
    tableBytes: 0,
    omittedPastEof: 0,
    problems: [],
    outOfRange: [],
    qemuError: null,
  };
  if (info.version === 1) return table;
  const fail = (error: SnapshotTableError, offset?: number) => {
    table.qemuError ??= error;
    table.problems.push({
      field: error.field,
      value: error.value,
      message: error.message,
      ...(offset === undefined ? {} : { offset }),
    });
  };
  const start = exactField(info.snapshotsOffset, "snapshots_offset", info.outOfRange);
  // QEMU validates the table pointer even when it declares no snapshot.
  const invalid = validateTable(
    start,
    info.snapshotCount,
    SNAPSHOT_ENTRY_FIXED_SIZE,
    SNAPSHOT_ENTRY_FIXED_SIZE * LIMITS.maxSnapshots,
    info.clusterSize ?? 512,
    "Snapshot table",
  );
  if (invalid !== null)
    fail({ message: invalid, field: "snapshots_offset", value: start.toString() });
  if (info.snapshotCount === 0) return table;
  const count = Math.min(info.snapshotCount, LIMITS.maxSnapshots);
  if (count < info.snapshotCount) table.truncated = true;
  if (start >= BigInt(source.size)) {
    // Wholly past end of file (QEMU reads every entry as zeros). Far offsets are
    // beyond any file, so the exact value is not needed to say where entries lie.
    table.truncated = true;
    table.tableBytes = count * SNAPSHOT_ENTRY_FIXED_SIZE;
    // QEMU lists these entries only when it accepts the table at all.
    if (table.qemuError === null) table.snapshots = zeroFilledEntries(count, 0, Number(start));
    else table.omittedPastEof = count;
    table.problems.push({
      field: "snapshots_offset",
      value: start.toString(),
      message: `the snapshot table offset 0x${start.toString(16)} is past end of file (${source.size} bytes): QEMU reads its ${count} entries as zeros`,
    });
    return table;
  }

  const first = Number(start);
  const cursor = new SourceCursor(source, first);
  for (let index = 0; index < count; index++) {
    cursor.position = Math.ceil(cursor.position / 8) * 8;
    const offset = cursor.position;
    const fixed = decodeSnapshotFixed(
      cursor.takeBuffered(SNAPSHOT_ENTRY_FIXED_SIZE) ??
        (await cursor.takePadded(SNAPSHOT_ENTRY_FIXED_SIZE)),
    );
    if (fixed.extra_data_size > LIMITS.maxSnapshotExtraData) {
      fail(
        {
          message: `Too much extra metadata in snapshot table entry ${index}`,
          field: "extra_data_size",
          value: String(fixed.extra_data_size),
          index,
        },
        offset,
      );
    }
    const extraLength = Math.min(fixed.extra_data_size, SNAPSHOT_EXTRA_KNOWN_SIZE);
    const extraBytes = cursor.takeBuffered(extraLength) ?? (await cursor.takePadded(extraLength));
    cursor.position = offset + SNAPSHOT_ENTRY_FIXED_SIZE + fixed.extra_data_size;
    const idBytes =
      cursor.takeBuffered(fixed.id_str_size) ?? (await cursor.takePadded(fixed.id_str_size));
    const nameBytes =
      cursor.takeBuffered(fixed.name_size) ?? (await cursor.takePadded(fixed.name_size));
    const end = offset + SNAPSHOT_ENTRY_FIXED_SIZE + variableBytes(fixed);
    if (end - first > LIMITS.maxSnapshotTableBytes) {
      // QEMU gives up here; so does the reader, which bounds the work too.
      fail(
        {
          message: "Snapshot table is too big",
          field: "snapshot table",
          value: String(end - first),
          index,
        },
        offset,
      );
      table.truncated = true;
      return table;
    }
    const pastEof = end <= source.size ? "none" : offset >= source.size ? "wholly" : "partly";
    if (pastEof !== "none") table.truncated = true;
    const before = table.outOfRange.length;
    const extra = decodeSnapshotExtra(extraBytes, table.outOfRange, index);
    const l1TableOffset = toSafeNumber(
      fixed.l1_table_offset,
      snapshotL1Field(index),
      table.outOfRange,
    );
    const exact = exactFields(table.outOfRange.slice(before));
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
      l1TableOffset,
      l1Size: fixed.l1_size,
      extraDataSize: fixed.extra_data_size,
      ...(exact === undefined ? {} : { exact }),
      pastEof,
    });
    table.tableBytes = end - first;
    if (pastEof === "wholly") {
      // Every later entry is zeros too: no need to read them one by one.
      const next = Math.ceil(end / 8) * 8;
      const rest = count - index - 1;
      if (table.qemuError === null)
        table.snapshots.push(...zeroFilledEntries(rest, index + 1, next));
      else table.omittedPastEof = rest;
      if (rest > 0) table.tableBytes = next + rest * SNAPSHOT_ENTRY_FIXED_SIZE - first;
      break;
    }
  }
  const beyond = table.snapshots.filter((s) => s.pastEof !== "none");
  if (beyond.length + table.omittedPastEof > 0) {
    table.problems.push({
      field: "snapshot table",
      value: String(beyond.length + table.omittedPastEof),
      message: `${beyond.length + table.omittedPastEof} of ${count} snapshot table entries lie past end of file (QEMU reads them as zeros)`,
      ...(beyond[0] === undefined ? {} : { offset: beyond[0].offset }),
    });
  }
  return table;
}

/** Entries QEMU reads from zeros: no id, no name, dated 1970, no L1 table. */
function zeroFilledEntries(n: number, firstIndex: number, firstOffset: number): Qcow2Snapshot[] {
  const out: Qcow2Snapshot[] = [];
  for (let i = 0; i < n; i++) {
    out.push({
      index: firstIndex + i,
      // A zero entry is exactly 40 bytes, so entries stay 8-byte aligned. (An
      // offset above 2^53 is not exact; such entries lie far beyond any file.)
      offset: firstOffset + i * SNAPSHOT_ENTRY_FIXED_SIZE,
      id: "",
      name: "",
      dateSec: 0,
      dateNsec: 0,
      vmClockSec: 0,
      vmClockNsec: 0,
      vmStateSize32: 0,
      vmStateSize: 0,
      diskSize: null,
      icount: null,
      l1TableOffset: 0,
      l1Size: 0,
      extraDataSize: 0,
      pastEof: "wholly",
    });
  }
  return out;
}
