import { readBitmaps } from "../bitmaps.js";
import { isQcow2Error, Qcow2Error } from "../errors.js";
import {
  compressedDescriptor,
  compressedOffset,
  hasZeroFlag,
  isCompressed,
  isCopied,
  l1Reserved,
  l2Reserved,
  nextNonZero,
  offsetField,
  refTableOffset,
  refTableReserved,
} from "../format/entry-words.js";
import {
  hasFeature,
  INCOMPAT_EXTENDED_L2,
  INCOMPAT_EXTERNAL_DATA_FILE,
} from "../format/features.js";
import { exactField } from "../format/numbers.js";
import { refcountAt } from "../format/refcount.js";
import { inspect, type Qcow2Info } from "../inspect.js";
import { LIMITS } from "../limits.js";
import { qemuBitmapRefusal } from "../qemu/bitmap-load.js";
import { type Qcow2Snapshot, readSnapshots, type SnapshotTable } from "../snapshots.js";
import { type ByteSource, readPadded } from "../source/byte-source.js";
import { OVERFLOW, ownerCode, ownerOf, RefcountAccumulator } from "./accumulator.js";
import { CensusBuilder } from "./census.js";
import { assertCheckable } from "./open-checks.js";
import {
  type CheckProblem,
  type CheckReport,
  type ClusterOwner,
  MAX_CHECK_PROBLEMS,
  MAX_LISTED_CLUSTERS,
} from "./types.js";

const hex = (n: number) => n.toString(16);
const DATA_OWNER = ownerCode("data");

/**
 * What checking one L2 table did, in order, to do again for every other L1
 * table that points at it. `steps` lists what was counted: a whole, aligned
 * data cluster inside the file by its cluster index (≥ 0; the common case,
 * 4 bytes), or `-(n + 1)` for the n-th triple of `refs`. A triple is a
 * reference (host offset, entry offset, then 0 for a data cluster or the
 * byte length of compressed data; `exact` keeps full-width offsets above
 * 2^53 by index into `refs`), or a problem its entries raised (index into
 * `problems`, 0, -1). Refcount overlaps and overflows are not recorded: they
 * depend on the counts so far, so replaying the references raises them
 * again.
 */
interface L2Scan {
  steps: Int32Array;
  refs: Float64Array;
  exact: Map<number, bigint> | null;
  problems: CheckProblem[];
}
/**
 * Numbers kept for replays (8 bytes each: 256 MiB). Past it, tables are read
 * and decoded again as QEMU does: slower, same answer.
 */
const MAX_L2_SCAN_NUMBERS = 32 * 1024 * 1024;
/**
 * Steps per block of the arena kept scans' steps live in: one allocation per
 * block, not one per table (thousands of snapshot tables).
 */
const SCAN_ARENA_BLOCK = 256 * 1024;
/** The largest cluster index a step holds (larger ones are kept as references). */
const MAX_STEP = 0x7fffffff;
const NO_STEPS = new Int32Array(0);
const NO_REFS = new Float64Array(0);

/** `scratch`, or a copy of it twice as long when `needed` elements do not fit. */
function roomFor<T extends Int32Array | Float64Array>(scratch: T, needed: number): T {
  if (needed <= scratch.length) return scratch;
  const bigger = new (scratch.constructor as new (n: number) => T)(
    Math.max(needed, scratch.length * 2),
  );
  bigger.set(scratch);
  return bigger;
}

/**
 * Bytes of active L2 tables kept between the refcount pass and the OFLAG_COPIED
 * pass when reads are remote: a round trip each saved (a 4 KiB-cluster image of
 * 16 GiB has 32 MiB of them). Local files re-read them from the page cache.
 */
const KEPT_TABLE_BYTES = 64 * 1024 * 1024;
/**
 * QEMU's BDRV_MAX_LENGTH (INT64_MAX aligned down to 1 GiB): the block layer
 * refuses any read ending beyond it (EIO), where a read merely past end of
 * file returns zeros.
 */
const BDRV_MAX_LENGTH = 2 ** 63 - 2 ** 30;
/** A synchronous read with the same typed-error guarantee as the async ones. */
function readSyncSafely(
  source: ByteSource,
  read: (t: Uint8Array, p: number) => number,
  target: Uint8Array,
  position: number,
): number {
  if (position >= source.size) return 0;
  try {
    return read(target, position);
  } catch (cause) {
    if (isQcow2Error(cause)) throw cause;
    throw new Qcow2Error(
      "IO",
      `read at offset ${position} failed: ${cause instanceof Error ? cause.message : String(cause)}`,
      {
        file: source.name,
        offset: position,
        cause,
      },
    );
  }
}
/**
 * The table's 32-bit words, to skip all-zero entries with one compare (byte
 * order does not matter for zero), or null when `table` is not 4-aligned.
 */
function wordsOf(table: Uint8Array): Int32Array | null {
  return table.byteOffset % 4 === 0
    ? new Int32Array(table.buffer, table.byteOffset, table.byteLength >> 2)
    : null;
}
/** A 64-bit entry as QEMU prints it with PRIx64. */
const hex64 = (hi: number, lo: number) =>
  ((BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0)).toString(16);

/** Options for {@link check}. */
export interface CheckOptions {
  /**
   * Also summarise the host file cluster by cluster into at most `cells`
   * cells (use, leaks, orphans, overlaps): `CheckReport.census`.
   */
  census?: { cells: number };
  /**
   * Called for every L1 and L2 table the refcount pass visits, in order:
   * the active L1 table and its L2 tables first, then each snapshot's. Lets
   * a caller learn from the tables without reading them again (the audit
   * measures each snapshot's divergence this way).
   */
  onTable?: (visit: CheckTableVisit) => void;
  /** The snapshot table, when the caller has read it already (else it is read). */
  snapshots?: SnapshotTable;
}

/** One table the check visits (see {@link CheckOptions.onTable}). */
export interface CheckTableVisit {
  /** Whose table: `null` for the active L1 table's, else the snapshot's. */
  snapshot: Qcow2Snapshot | null;
  /** 1 for the L1 table itself; 2 for an L2 table it points at. */
  level: 1 | 2;
  /** The L1 entry pointing at an L2 table (-1 for the L1 table). */
  l1Index: number;
  /** Host offset of the table. */
  offset: number;
  /**
   * The table's bytes, valid only during the call; `null` for an L2 table
   * the check read earlier (for another L1 table) and does not read again.
   */
  bytes: Uint8Array | null;
  /**
   * For an L2 table read now, the indices of its entries with a non-zero
   * word, ascending (the check found them anyway), valid only during the
   * call; `null` when the check did not list them.
   */
  nonZero?: Int32Array | null;
}

/**
 * Recomputes every reference count from the image's metadata and compares it
 * with the stored refcounts, as `qemu-img check` does (QEMU's
 * qcow2_check_refcounts): header, active and snapshot L1/L2 tables, snapshot
 * table, refcount table and blocks, encryption header and bitmaps. The totals
 * equal qemu-img's; every problem keeps its host offset.
 *
 * Throws a {@link Qcow2Error} where qemu-img check cannot open the image
 * (QCOW1, unknown incompatible bits, invalid tables).
 *
 * @example
 * ```ts
 * const r = await check(source);
 * if (r.corruptions > 0) console.log(r.problems.filter((p) => p.corruption));
 * const { census } = await check(source, undefined, { census: { cells: 1024 } }); // for a picture
 * ```
 */
export async function check(
  source: ByteSource,
  info?: Qcow2Info,
  options: CheckOptions = {},
): Promise<CheckReport> {
  try {
    const facts = info ?? (await inspect(source));
    assertCheckable(facts, source.size);
    // qemu-img check opens the image first, which loads the bitmaps.
    const bitmaps = await qemuBitmapRefusal(source, facts);
    if (bitmaps !== null)
      throw new Qcow2Error(bitmaps.code, bitmaps.message, {
        field: bitmaps.field,
        value: bitmaps.value,
      });
    const snapshots = options.snapshots ?? (await readSnapshots(source, facts));
    const checker = new Checker(source, facts, snapshots, options);
    return await checker.run();
  } catch (e) {
    throw isQcow2Error(e) ? (e as Qcow2Error).withFile(source.name) : e;
  }
}

class Checker {
  private readonly cs: number;
  private readonly bits: number;
  private readonly entrySize: number;
  private readonly extendedL2: boolean;
  private readonly dataFile: boolean;
  private readonly fileClusters: number;
  private readonly refs: RefcountAccumulator;
  private readonly report: CheckReport;
  private refTable: DataView = new DataView(new ArrayBuffer(0));
  private readonly census: CensusBuilder | null;
  private readonly onTable: ((visit: CheckTableVisit) => void) | undefined;

  constructor(
    private readonly source: ByteSource,
    private readonly info: Qcow2Info,
    private readonly snapshots: SnapshotTable,
    options: CheckOptions,
  ) {
    this.cs = info.clusterSize as number;
    this.bits = info.clusterBits;
    this.extendedL2 = hasFeature(info.incompatibleFeatures, INCOMPAT_EXTENDED_L2);
    this.dataFile = hasFeature(info.incompatibleFeatures, INCOMPAT_EXTERNAL_DATA_FILE);
    this.entrySize = this.extendedL2 ? 16 : 8;
    this.fileClusters = Math.ceil(source.size / this.cs);
    const max = info.refcountOrder >= 5 ? 0xffffffff : 2 ** info.refcountBits - 1;
    this.refs = new RefcountAccumulator(this.fileClusters, max);
    this.report = {
      checkErrors: 0,
      leaks: 0,
      corruptions: 0,
      // bs->total_sectors is the size in whole sectors, rounded down.
      totalClusters: Math.ceil((Math.floor(info.virtualSize / 512) * 512) / this.cs),
      allocatedClusters: 0,
      fragmentedClusters: 0,
      compressedClusters: 0,
      imageEndOffset: 0,
      clusterSize: this.cs,
      fileSize: source.size,
      problems: [],
      problemsTruncated: false,
      leakedClusters: [],
      orphanedClusters: [],
    };
    this.onTable = options.onTable;
    this.census =
      options.census === undefined
        ? null
        : new CensusBuilder(options.census.cells, this.cs, source.size);
  }

  /**
   * The L2 tables at `offsets`, in order. A source with synchronous reads
   * (a local file) is read straight into one reused buffer; otherwise up to
   * 16 reads are kept in flight: the check is bound by read latency.
   * Yielded buffers are only valid until the next one.
   */
  private async *tables(offsets: readonly number[], keep = false): AsyncGenerator<Uint8Array> {
    const sync = this.source.readIntoSync?.bind(this.source);
    if (sync !== undefined) {
      // One buffer for the whole check: a fresh one per L1 table (per snapshot)
      // costs more in allocation and garbage collection than reading into it.
      this.tableBuffer ??= new Uint8Array(this.cs);
      const buffer = this.tableBuffer;
      for (const offset of offsets) {
        const n = readSyncSafely(this.source, sync, buffer, offset);
        if (n < buffer.length) buffer.fill(0, n);
        yield buffer;
      }
      return;
    }
    const inFlight: Array<Promise<Uint8Array>> = [];
    let next = 0;
    const start = () => {
      const offset = offsets[next++] as number;
      const kept = this.keptTables.get(offset);
      this.keptTables.delete(offset);
      const read =
        kept === undefined ? readPadded(this.source, offset, this.cs) : Promise.resolve(kept);
      // The active tables, kept for the OFLAG_COPIED pass, which would otherwise read them again.
      if (
        keep &&
        this.source.highLatency &&
        kept === undefined &&
        this.keptTables.size * this.cs < KEPT_TABLE_BYTES
      )
        void read.then(
          (t) => this.keptTables.set(offset, t),
          () => undefined,
        );
      inFlight.push(read);
    };
    while (next < offsets.length && inFlight.length < 16) start();
    while (inFlight.length > 0) {
      const bytes = await (inFlight.shift() as Promise<Uint8Array>);
      if (next < offsets.length) start();
      yield bytes;
    }
  }

  private entriesScanned = 0;
  /** The buffer {@link tables} reads local L2 tables into (tables are checked one at a time). */
  private tableBuffer: Uint8Array | undefined;
  /** Active L2 tables read from a source without synchronous reads (a remote one), by offset. */
  private readonly keptTables = new Map<number, Uint8Array>();

  /** Counts one L2 table against the work bound (see LIMITS.maxCheckTableEntries). */
  private spend(): void {
    this.entriesScanned += this.cs / this.entrySize;
    if (this.entriesScanned > LIMITS.maxCheckTableEntries) {
      throw new Qcow2Error(
        "LIMIT_EXCEEDED",
        `check stopped after ${LIMITS.maxCheckTableEntries} L2 entries: the L1 tables point at the same tables over and over`,
        { field: "l1_size", value: this.info.l1Size },
      );
    }
  }

  private problem(p: CheckProblem): void {
    if (p.corruption) this.report.corruptions++;
    if (p.kind === "check-error") this.report.checkErrors++;
    if (this.report.problems.length < MAX_CHECK_PROBLEMS) this.report.problems.push(p);
    else this.report.problemsTruncated = true;
  }

  /**
   * QEMU's qcow2_inc_refcounts_imrt: one more reference to every cluster of
   * [offset, offset+size). `entryOffset` is where the reference is stored (a
   * header field, an L1/L2 or table entry), cited when the target is bad.
   * `exact` is the offset at full width when it may exceed 2^53.
   */
  private inc(
    offset: number,
    size: number,
    owner: ClusterOwner,
    entryOffset?: number,
    exact?: bigint,
  ): void {
    if (size <= 0) return;
    // QEMU tolerates the last cluster being partly past end of file, but not a
    // whole cluster or more: that reference is a corruption and is not counted.
    if (offset + size - this.source.size >= this.cs) {
      const at = exact ?? BigInt(offset);
      this.problem({
        kind: "beyond-eof",
        message: `ERROR: counting reference for region exceeding the end of the file by one cluster or more: offset 0x${at.toString(16)} size 0x${hex(size)}`,
        ...(Number.isSafeInteger(offset) ? { hostOffset: offset } : {}),
        ...(entryOffset === undefined ? {} : { entryOffset }),
        target: `0x${at.toString(16)}`,
        owners: [owner],
        corruption: true,
      });
      this.census?.beyondEof(offset);
      return;
    }
    const first = Math.floor(offset / this.cs);
    const last = Math.floor((offset + size - 1) / this.cs);
    const code = ownerCode(owner);
    for (let k = first; k <= last; k++) {
      const r = this.refs.increment(k, code);
      if (r !== 0) this.incremented(k, r, owner);
    }
  }

  /**
   * {@link inc} for a data reference, a whole aligned cluster inside the file
   * counted straight (what `inc` does for it, without its general case): the
   * reference of nearly every allocated entry of every table. Answers that
   * cluster's index, or -1 when the reference took the general case.
   */
  private incData(
    offset: number,
    size: number,
    owner: "data" | "compressed-data",
    entryOffset: number,
    exact?: bigint,
  ): number {
    const cs = this.cs;
    // Below 2^53 the quotient by a power of two is exact: whole exactly when aligned (and no
    // floating-point remainder, which costs a call per entry).
    const k = offset / cs;
    if (owner === "data" && size === cs && k === Math.floor(k) && offset < this.source.size) {
      this.countDataCluster(k);
      return k;
    }
    this.inc(offset, size, owner, entryOffset, exact);
    return -1;
  }

  /** One more data reference to host cluster `k`, a whole cluster inside the file. */
  private countDataCluster(k: number): void {
    const result = this.refs.increment(k, DATA_OWNER);
    if (result !== 0) this.incremented(k, result, "data");
  }

  /** Reports what {@link RefcountAccumulator.increment} answered for cluster `k` when not 0. */
  private incremented(k: number, r: number, owner: ClusterOwner): void {
    if (r === OVERFLOW) {
      this.problem({
        kind: "refcount-overflow",
        message: `ERROR: overflow cluster offset=0x${hex(k * this.cs)}`,
        hostOffset: k * this.cs,
        cluster: k,
        owners: [owner],
        corruption: true,
      });
      return;
    }
    const previous = ownerOf(r);
    this.census?.overlap(k);
    this.problem({
      kind: "overlap",
      message: `cluster ${k} (host offset 0x${hex(k * this.cs)}) is used by both ${previous} and ${owner}`,
      hostOffset: k * this.cs,
      cluster: k,
      owners: [previous, owner],
      corruption: false,
    });
  }

  /**
   * A header offset at its full width (`exact`) and as a number to read at
   * (`at`): above 2^53 it lies past any file, where reads return zeros, so
   * the rounding of `at` never matters; messages print `exact`.
   */
  private offsetOf(value: number, field: string): { at: number; exact: bigint } {
    const exact = exactField(value, field, this.info.outOfRange);
    return { at: Number(exact), exact };
  }

  async run(): Promise<CheckReport> {
    const { info } = this;
    this.checkSnapshotTable();
    this.inc(0, this.cs, "header");
    const l1 = this.offsetOf(info.l1TableOffset, "l1_table_offset");
    await this.checkL1(l1, info.l1Size, "l1-table", null, 40);
    if (this.dataFile && info.snapshotCount > 0) {
      this.problem({
        kind: "invalid-entry",
        message: `ERROR ${info.snapshotCount} snapshots in image with data file`,
        corruption: true,
      });
    }
    for (const sn of this.snapshots.snapshots) {
      const where = `snapshot ${sn.id} (${sn.name})`;
      const l1 = this.snapshotL1(sn);
      if (l1.exact % BigInt(this.cs) !== 0n) {
        this.problem({
          kind: "misaligned",
          message: `ERROR ${where} l1_offset=0x${l1.exact.toString(16)}: L1 table is not cluster aligned; snapshot table entry corrupted`,
          hostOffset: sn.offset,
          entryOffset: sn.offset,
          owners: ["snapshot-l1-table"],
          corruption: true,
        });
        continue;
      }
      if (sn.l1Size > LIMITS.maxL1Entries) {
        this.problem({
          kind: "invalid-entry",
          message: `ERROR ${where} l1_size=0x${hex(sn.l1Size)}: L1 table is too large; snapshot table entry corrupted`,
          hostOffset: sn.offset,
          entryOffset: sn.offset,
          corruption: true,
        });
        continue;
      }
      await this.checkL1(l1, sn.l1Size, "snapshot-l1-table", sn, sn.offset);
    }
    if (info.snapshotCount > 0) {
      const table = this.offsetOf(info.snapshotsOffset, "snapshots_offset");
      this.inc(table.at, this.snapshots.tableBytes, "snapshot-table", 64, table.exact);
    }
    const refcounts = this.offsetOf(info.refcountTableOffset, "refcount_table_offset");
    this.inc(
      refcounts.at,
      info.refcountTableClusters * this.cs,
      "refcount-table",
      48,
      refcounts.exact,
    );
    const fde = info.fullDiskEncryption;
    if (fde !== null && fde.length > 0) {
      const header = this.offsetOf(fde.offset, "crypto_header.offset");
      this.inc(header.at, fde.length, "encryption-header", undefined, header.exact);
    }
    await this.checkBitmaps();
    await this.loadRefcountTable();
    this.checkRefblocks();
    await this.compareRefcounts();
    await this.checkCopiedFlags();
    if (this.census === null) return this.report;
    const census = this.census.build(this.refs.size, (k) => {
      const code = this.refs.ownerCodeAt(k);
      return code === 0 ? "unused" : ownerOf(code);
    });
    return { ...this.report, census };
  }

  /**
   * QEMU's qcow2_check_read_snapshot_table: a table QEMU cannot read ends the
   * check (qemu-img check exits 1); a version 3 entry without the 16 bytes of
   * extra data every v3 entry needs is a corruption ("incomplete") — what
   * entries past end of file, read as zeros, always are.
   */
  private checkSnapshotTable(): void {
    const error = this.snapshots.qemuError;
    if (error !== null) {
      const validation = error.message.startsWith("Snapshot table ") && error.index === undefined;
      const message = validation
        ? `ERROR ${error.message.replace("Snapshot table", "snapshot table")}`
        : `ERROR failed to read the snapshot table: ${error.message}`;
      throw new Qcow2Error(
        error.message.includes("offset invalid") ? "INVALID_STRUCTURE" : "LIMIT_EXCEEDED",
        message,
        { field: error.field, value: error.value },
      );
    }
    if (this.info.version < 3) return;
    for (const sn of this.snapshots.snapshots) {
      if (sn.extraDataSize >= 16) continue;
      this.problem({
        kind: "invalid-entry",
        message: `ERROR snapshot table entry ${sn.index} is incomplete`,
        hostOffset: sn.offset,
        entryOffset: sn.offset,
        corruption: true,
      });
    }
  }

  /** A snapshot's L1 table offset at full width (the table decoder stores `NaN` above 2^53). */
  private snapshotL1(sn: Qcow2Snapshot): { at: number; exact: bigint } {
    const exact = BigInt(sn.exact?.l1TableOffset ?? sn.l1TableOffset);
    return { at: Number(exact), exact };
  }

  /** QEMU's check_refcounts_l1 (+ check_refcounts_l2 for each table). */
  private async checkL1(
    table: { at: number; exact: bigint },
    size: number,
    owner: "l1-table" | "snapshot-l1-table",
    snapshot: Qcow2Snapshot | null,
    referrer: number,
  ): Promise<void> {
    if (size === 0) return;
    const active = snapshot === null;
    const offset = table.at;
    this.inc(offset, size * 8, owner, referrer, table.exact);
    if (table.exact + BigInt(size * 8) > BigInt(BDRV_MAX_LENGTH)) {
      // QEMU's read fails there (EIO) and check_refcounts_l1 gives up the whole check.
      this.problem({
        kind: "check-error",
        message: "ERROR: I/O error in check_refcounts_l1",
        entryOffset: referrer,
        corruption: false,
      });
      throw new Qcow2Error(
        "INVALID_STRUCTURE",
        `Check failed: Input/output error (the L1 table at 0x${table.exact.toString(16)} lies beyond what QEMU can read)`,
        { field: "l1_table_offset", value: table.exact.toString() },
      );
    }
    const l1 = await this.readTable(offset, size * 8);
    this.onTable?.({ snapshot, level: 1, l1Index: -1, offset, bytes: l1 });
    const view = new DataView(l1.buffer, l1.byteOffset, l1.byteLength);
    const toScan: number[] = [];
    // The L1 index of each table in `toScan` (for onTable).
    const indices: number[] = [];
    const words = wordsOf(l1);
    for (let i = 0; i < size; i++) {
      if (words !== null) {
        i = nextNonZero(words, i, size, 2);
        if (i === size) break;
      }
      const hi = view.getUint32(i * 8);
      const lo = view.getUint32(i * 8 + 4);
      if (hi === 0 && lo === 0) continue;
      if (l1Reserved(hi, lo)) {
        this.problem({
          kind: "reserved-bits",
          message: `ERROR found L1 entry with reserved bits set: ${hex64(hi, lo)}`,
          hostOffset: offset + i * 8,
          owners: [owner],
          corruption: true,
        });
      }
      const l2Offset = offsetField(hi, lo);
      this.inc(l2Offset, this.cs, "l2-table", offset + i * 8);
      if (l2Offset % this.cs !== 0) {
        this.problem({
          kind: "misaligned",
          message: `ERROR l2_offset=${hex(l2Offset)}: Table is not cluster aligned; L1 entry corrupted`,
          hostOffset: offset + i * 8,
          owners: [owner, "l2-table"],
          corruption: true,
        });
      }
      // A table wholly past end of file reads as zeros: nothing allocated, nothing to check.
      if (l2Offset < this.source.size) {
        toScan.push(l2Offset);
        indices.push(i);
      }
    }
    // A snapshot's tables are mostly the same tables as the active L1's and the
    // other snapshots': each is read and decoded once, then its references are
    // replayed (QEMU reads and walks it again for every L1 that points at it).
    const replayed = active ? [] : toScan.filter((o) => this.l2Scans.has(o));
    const toRead = replayed.length === 0 ? toScan : toScan.filter((o) => !this.l2Scans.has(o));
    const read = this.tables(toRead, active)[Symbol.asyncIterator]();
    for (let k = 0; k < toScan.length; k++) {
      const l2Offset = toScan[k] as number;
      this.spend();
      const known = active ? undefined : this.l2Scans.get(l2Offset);
      if (known !== undefined) {
        this.replayL2(known);
        this.onTable?.({
          snapshot,
          level: 2,
          l1Index: indices[k] as number,
          offset: l2Offset,
          bytes: null,
        });
        continue;
      }
      const next = await read.next();
      if (next.done) break;
      const nonZero = this.checkL2(l2Offset, next.value, active);
      this.onTable?.({
        snapshot,
        level: 2,
        l1Index: indices[k] as number,
        offset: l2Offset,
        bytes: next.value,
        nonZero: nonZero < 0 ? null : this.nonZeroScratch.subarray(0, nonZero),
      });
    }
  }

  /**
   * An L1 or L2 table's bytes: straight from a local file (one read, no
   * round trip through the event loop, which per snapshot would add up), or
   * through the source's async read.
   */
  private async readTable(offset: number, length: number): Promise<Uint8Array> {
    const sync = this.source.readIntoSync?.bind(this.source);
    if (sync === undefined) return readPadded(this.source, offset, length);
    const buffer = new Uint8Array(length);
    const n = readSyncSafely(this.source, sync, buffer, offset);
    if (n < length) buffer.fill(0, n);
    return buffer;
  }

  /** What checking each L2 table found, by host offset (see {@link L2Scan}). */
  private readonly l2Scans = new Map<number, L2Scan>();
  /**
   * Each active L2 table's allocated, uncompressed entries (triples: byte offset in the table,
   * high and low word), recorded by the refcount pass for the OFLAG_COPIED pass.
   */
  private readonly activeEntries = new Map<number, Float64Array>();
  /** Where {@link checkL2} collects a table's references before keeping them. */
  private refScratch = new Float64Array(3 * 1024);
  /** Numbers held by {@link l2Scans}, against {@link MAX_L2_SCAN_NUMBERS}. */
  private l2ScanNumbers = 0;
  /** Where {@link checkL2} collects a table's steps (see {@link L2Scan}). */
  private stepScratch = new Int32Array(1024);
  /** The arena block kept scans' steps are copied into, and how much of it is used. */
  private arena = new Int32Array(0);
  private arenaUsed = 0;

  /**
   * A kept copy of the first `used` steps of {@link stepScratch}: a view of
   * the arena (off the garbage-collected heap, and one allocation for
   * thousands of tables: fresh memory is not free), or an array of its own
   * when larger than a block.
   */
  private keepSteps(used: number): Int32Array {
    if (used === 0) return NO_STEPS;
    if (used > SCAN_ARENA_BLOCK) return this.stepScratch.slice(0, used);
    if (this.arenaUsed + used > this.arena.length) {
      this.arena = new Int32Array(SCAN_ARENA_BLOCK);
      this.arenaUsed = 0;
    }
    const start = this.arenaUsed;
    this.arena.set(this.stepScratch.subarray(0, used), start);
    this.arenaUsed += used;
    return this.arena.subarray(start, start + used);
  }

  /** Does again what checking the table recorded in `scan` did, without reading or decoding it. */
  private replayL2(scan: L2Scan): void {
    const { steps, refs } = scan;
    for (let s = 0; s < steps.length; s++) {
      const k = steps[s] as number;
      if (k >= 0) {
        this.countDataCluster(k);
        continue;
      }
      const r = -3 * (k + 1);
      const code = refs[r + 2] as number;
      if (code < 0) {
        this.problem(scan.problems[refs[r] as number] as CheckProblem);
        continue;
      }
      const offset = refs[r] as number;
      this.incData(
        offset,
        code === 0 ? this.cs : code,
        code === 0 ? "data" : "compressed-data",
        refs[r + 1] as number,
        // Exact offsets are kept only past 2^53, far past the end of any file.
        offset < this.source.size ? undefined : scan.exact?.get(r),
      );
    }
  }

  /** Where {@link checkL2} lists the table's non-zero entries for `onTable` (see {@link CheckTableVisit}). */
  private nonZeroScratch = new Int32Array(1024);

  /**
   * Checks one L2 table; answers how many of its entries have a non-zero word (listed in
   * {@link nonZeroScratch} when `onTable` listens), or -1 when they were not listed.
   */
  private checkL2(l2Offset: number, table: Uint8Array, active: boolean): number {
    const view = new DataView(table.buffer, table.byteOffset, table.byteLength);
    const entries = this.cs / this.entrySize;
    let nextContiguous = 0;
    // Most entries of most tables are zero.
    const words = wordsOf(table);
    const wordsPerEntry = this.entrySize >> 2;
    // Steps and references go to reused buffers, copied out at the end: a growing array per
    // table would be garbage for the collector, thousands of times over.
    let steps = 0;
    let used = 0;
    const step = (k: number) => {
      this.stepScratch = roomFor(this.stepScratch, steps + 1);
      this.stepScratch[steps++] = k;
    };
    const push = (a: number, b: number, c: number) => {
      step(-(used / 3) - 1);
      this.refScratch = roomFor(this.refScratch, used + 3);
      this.refScratch[used++] = a;
      this.refScratch[used++] = b;
      this.refScratch[used++] = c;
    };
    const scan: L2Scan = { steps: NO_STEPS, refs: NO_REFS, exact: null, problems: [] };
    const cs = this.cs;
    // The active table's allocated entries, for the OFLAG_COPIED pass (which then need not read
    // the table again). With a data file, offset 0 can be allocated: that pass reads the table.
    const copied: number[] | null =
      active && !this.dataFile && this.l2ScanNumbers < MAX_L2_SCAN_NUMBERS ? [] : null;
    const record = this.l2ScanNumbers < MAX_L2_SCAN_NUMBERS;
    const problem = (p: CheckProblem) => {
      this.problem(p);
      if (!record) return;
      push(scan.problems.length, 0, -1);
      scan.problems.push(p);
    };
    const inc = (
      offset: number,
      size: number,
      owner: "data" | "compressed-data",
      entryOffset: number,
      exact?: bigint,
    ) => {
      const k = this.incData(offset, size, owner, entryOffset, exact);
      // A reference of no bytes counts nothing; 0 in `refs` means a whole data cluster.
      if (!record || size <= 0) return;
      // A cluster incData counted straight is replayed by its index.
      if (k >= 0 && k <= MAX_STEP) {
        step(k);
        return;
      }
      if (exact !== undefined) {
        scan.exact ??= new Map();
        scan.exact.set(used, exact);
      }
      push(offset, entryOffset, owner === "data" ? 0 : size);
    };
    const listing = words !== null && this.onTable !== undefined;
    let listed = 0;
    for (let i = 0; i < entries; i++) {
      if (words !== null) {
        i = nextNonZero(words, i, entries, wordsPerEntry);
        if (i === entries) break;
        if (listing) {
          this.nonZeroScratch = roomFor(this.nonZeroScratch, listed + 1);
          this.nonZeroScratch[listed++] = i;
        }
      }
      const at = i * this.entrySize;
      const hi = view.getUint32(at);
      const lo = view.getUint32(at + 4);
      const bmHi = this.extendedL2 ? view.getUint32(at + 8) : 0;
      const bmLo = this.extendedL2 ? view.getUint32(at + 12) : 0;
      const entryOffset = l2Offset + at;
      if (isCompressed(hi)) {
        const d = compressedDescriptor(hi, lo, this.bits);
        if (isCopied(hi)) {
          problem({
            kind: "invalid-entry",
            message: `ERROR: coffset=0x${hex(d.hostOffset)}: copied flag must never be set for compressed clusters`,
            hostOffset: entryOffset,
            corruption: true,
          });
        }
        if (this.dataFile) {
          problem({
            kind: "invalid-entry",
            message: `ERROR compressed cluster ${i} with data file`,
            hostOffset: entryOffset,
            corruption: true,
          });
          continue;
        }
        if (bmHi !== 0 || bmLo !== 0) {
          problem({
            kind: "invalid-entry",
            message: `ERROR compressed cluster ${i} with non-zero subcluster allocation bitmap`,
            hostOffset: entryOffset,
            corruption: true,
          });
          continue;
        }
        const exact = Number.isSafeInteger(d.hostOffset)
          ? undefined
          : compressedOffset(hi, lo, this.bits);
        inc(d.hostOffset, d.length, "compressed-data", entryOffset, exact);
        if (active) {
          this.report.allocatedClusters++;
          this.report.compressedClusters++;
          // QEMU counts compressed clusters as fragmented by nature.
          this.report.fragmentedClusters++;
        }
        continue;
      }
      if (l2Reserved(hi, lo)) {
        problem({
          kind: "reserved-bits",
          message: `ERROR found l2 entry with reserved bits set: ${hex64(hi, lo)}`,
          hostOffset: entryOffset,
          corruption: true,
        });
      }
      const offset = offsetField(hi, lo);
      const zeroFlag = !this.extendedL2 && hasZeroFlag(lo);
      // QEMU's qcow2_get_cluster_type: offset 0 is unallocated unless a data file makes COPIED meaningful.
      const allocated = offset !== 0 || (this.dataFile && isCopied(hi) && !zeroFlag);
      if (!allocated) {
        if (this.extendedL2 && bmLo !== 0) {
          problem({
            kind: "invalid-entry",
            message: "ERROR: Unallocated cluster has non-zero subcluster allocation map",
            hostOffset: entryOffset,
            corruption: true,
          });
        }
        continue;
      }
      if (copied !== null) copied.push(at, hi, lo);
      if (this.extendedL2 && (bmHi & bmLo) !== 0) {
        problem({
          kind: "invalid-entry",
          message: `ERROR offset=${hex(offset)}: Allocated cluster has corrupted subcluster allocation bitmap`,
          hostOffset: entryOffset,
          corruption: true,
        });
      }
      if (offset / cs !== Math.floor(offset / cs)) {
        const containsData = this.extendedL2 ? bmLo !== 0 : !hasZeroFlag(lo);
        problem({
          kind: "misaligned",
          message: containsData
            ? `ERROR offset=${hex(offset)}: Data cluster is not properly aligned; L2 entry corrupted.`
            : `ERROR offset=${hex(offset)}: Preallocated cluster is not properly aligned; L2 entry corrupted.`,
          hostOffset: entryOffset,
          owners: ["l2-table", "data"],
          corruption: true,
        });
      }
      if (active) {
        this.report.allocatedClusters++;
        if (nextContiguous !== 0 && offset !== nextContiguous) this.report.fragmentedClusters++;
        nextContiguous = offset + this.cs;
      }
      if (!this.dataFile) inc(offset, this.cs, "data", entryOffset);
    }
    if (copied !== null) {
      this.activeEntries.set(l2Offset, Float64Array.from(copied));
      this.l2ScanNumbers += copied.length;
    }
    if (record) {
      // Off the garbage-collected heap: thousands of kept scans would slow every collection.
      scan.steps = this.keepSteps(steps);
      if (used > 0) scan.refs = this.refScratch.slice(0, used);
      this.l2Scans.set(l2Offset, scan);
      this.l2ScanNumbers += steps + used + scan.problems.length + 1;
    }
    return listing ? listed : -1;
  }

  /** QEMU's qcow2_check_bitmaps_refcounts (only when the bitmaps are consistent). */
  private async checkBitmaps(): Promise<void> {
    const ext = this.info.bitmaps;
    if (ext === null || ext.nbBitmaps === 0) return;
    const dir = await readBitmaps(this.source, this.info);
    if (!dir.consistent) return;
    this.inc(ext.bitmapDirectoryOffset, ext.bitmapDirectorySize, "bitmap-directory");
    if (dir.problems.length > 0 && dir.bitmaps.length === 0) {
      this.problem({
        kind: "invalid-entry",
        message: "ERROR: bitmap directory could not be loaded",
        hostOffset: ext.bitmapDirectoryOffset,
        corruption: true,
      });
      return;
    }
    for (const bm of dir.bitmaps) {
      const tableOffset = Number(bm.bitmapTableOffset);
      this.inc(tableOffset, bm.bitmapTableSize * 8, "bitmap-table");
      // Entries past end of file read as zeros (no cluster): only what exists is read.
      const entries = Math.max(
        0,
        Math.min(bm.bitmapTableSize, Math.floor((this.source.size - tableOffset) / 8)),
      );
      const table = await readPadded(this.source, tableOffset, entries * 8);
      const view = new DataView(table.buffer, table.byteOffset, table.byteLength);
      for (let i = 0; i < entries; i++) {
        const hi = view.getUint32(i * 8);
        const lo = view.getUint32(i * 8 + 4);
        const offset = offsetField(hi, lo);
        // check_table_entry: reserved bits 0xff000000000001fe, "all ones" only without offset, aligned.
        const bad =
          (hi & 0xff000000) !== 0 ||
          (lo & 0x1fe) !== 0 ||
          (offset !== 0 && (lo & 1) !== 0) ||
          offset % this.cs !== 0;
        if (bad) {
          this.problem({
            kind: "invalid-entry",
            message: `ERROR bitmap ${bm.name} table entry ${i} is invalid`,
            hostOffset: tableOffset + i * 8,
            corruption: true,
          });
          continue;
        }
        if (offset !== 0) this.inc(offset, this.cs, "bitmap-data");
      }
    }
  }

  private async loadRefcountTable(): Promise<void> {
    const bytes = await readPadded(
      this.source,
      this.info.refcountTableOffset,
      this.info.refcountTableClusters * this.cs,
    );
    this.refTable = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private get refTableEntries(): number {
    return this.refTable.byteLength / 8;
  }

  /** QEMU's check_refblocks. */
  private checkRefblocks(): void {
    for (let i = 0; i < this.refTableEntries; i++) {
      const hi = this.refTable.getUint32(i * 8);
      const lo = this.refTable.getUint32(i * 8 + 4);
      const offset = refTableOffset(hi, lo);
      const cluster = Math.floor(offset / this.cs);
      const at = this.info.refcountTableOffset + i * 8;
      if (refTableReserved(lo)) {
        this.problem({
          kind: "reserved-bits",
          message: `ERROR refcount table entry ${i} has reserved bits set`,
          hostOffset: at,
          corruption: true,
        });
        continue;
      }
      if (offset % this.cs !== 0) {
        this.problem({
          kind: "misaligned",
          message: `ERROR refcount block ${i} is not cluster aligned; refcount table entry corrupted`,
          hostOffset: at,
          owners: ["refcount-table", "refcount-block"],
          corruption: true,
        });
        continue;
      }
      if (cluster >= this.refs.size) {
        this.problem({
          kind: "beyond-eof",
          message: `ERROR refcount block ${i} is outside image`,
          hostOffset: at,
          cluster,
          owners: ["refcount-block"],
          corruption: true,
        });
        this.census?.beyondEof(offset);
        continue;
      }
      if (offset !== 0) {
        this.inc(offset, this.cs, "refcount-block");
        const n = this.refs.count(cluster);
        if (n !== 1) {
          this.problem({
            kind: "refcount-too-low",
            message: `ERROR refcount block ${i} refcount=${n}`,
            hostOffset: offset,
            cluster,
            computed: n,
            owners: [this.refs.owner(cluster) ?? "refcount-block", "refcount-block"],
            corruption: true,
          });
        }
      }
    }
  }

  /** Refcount blocks by refcount-table index; `0` none (all zero), `null` misaligned (QEMU: EIO). */
  private readonly blocks = new Map<number, Uint8Array | 0 | null>();

  private get perBlock(): number {
    return (this.cs * 8) / this.info.refcountBits;
  }

  /**
   * Refcount block `t`. Blocks covering the file are cached for the whole
   * check (their total size is the file's size × refcount_bits / 8 / cluster
   * size — small); others are read each time.
   */
  private async block(t: number): Promise<Uint8Array | 0 | null> {
    const cached = this.blocks.get(t);
    if (cached !== undefined) return cached;
    let block: Uint8Array | 0 | null = 0;
    if (t < this.refTableEntries) {
      const offset = refTableOffset(
        this.refTable.getUint32(t * 8),
        this.refTable.getUint32(t * 8 + 4),
      );
      // Misaligned (QEMU signals corruption) or beyond the block layer's range: EIO.
      if (offset !== 0)
        block =
          offset % this.cs !== 0 || offset + this.cs > BDRV_MAX_LENGTH
            ? null
            : await readPadded(this.source, offset, this.cs);
    }
    if (t * this.perBlock < this.fileClusters + this.perBlock) this.blocks.set(t, block);
    return block;
  }

  /**
   * The stored refcount of host cluster `k` (QEMU's qcow2_get_refcount), or
   * `null` when its refcount block is misaligned (QEMU: EIO).
   */
  private async stored(k: number): Promise<number | null> {
    const t = Math.floor(k / this.perBlock);
    const block = this.blocks.get(t) ?? (await this.block(t));
    if (block === 0 || block === null) return block === 0 ? 0 : null;
    return refcountAt(block, k - t * this.perBlock, this.info.refcountOrder);
  }

  /** {@link stored} without waiting, when the block is cached; `undefined` when it is not. */
  private storedSync(k: number): number | null | undefined {
    const t = Math.floor(k / this.perBlock);
    const block = this.blocks.get(t);
    if (block === undefined) return undefined;
    if (block === 0 || block === null) return block === 0 ? 0 : null;
    return refcountAt(block, k - t * this.perBlock, this.info.refcountOrder);
  }

  /** QEMU's compare_refcounts: stored vs computed for every cluster. */
  private async compareRefcounts(): Promise<void> {
    const perBlock = this.perBlock;
    const order = this.info.refcountOrder;
    const census = this.census;
    census?.begin(this.refs.size);
    let highest = 0;
    const visit = (i: number, stored: number | null) => {
      const computed = this.refs.count(i);
      if (stored === null) {
        this.problem({
          kind: "check-error",
          message: `Can't get refcount for cluster ${i}: Input/output error`,
          cluster: i,
          corruption: false,
        });
        return;
      }
      if (stored > 0 || computed > 0) highest = i;
      if (stored === computed) return;
      const hostOffset = i * this.cs;
      if (stored < computed) {
        this.problem({
          kind: "refcount-too-low",
          message: `ERROR cluster ${i} refcount=${stored} reference=${computed}`,
          hostOffset,
          cluster: i,
          stored,
          computed,
          owners: this.ownerList(i),
          corruption: true,
        });
        if (stored === 0 && this.report.orphanedClusters.length < MAX_LISTED_CLUSTERS)
          this.report.orphanedClusters.push(i);
        census?.flag(i, stored === 0 ? "orphaned" : "refcount-mismatch");
      } else {
        this.report.leaks++;
        this.problem({
          kind: "leak",
          message: `Leaked cluster ${i} refcount=${stored} reference=${computed}`,
          hostOffset,
          cluster: i,
          stored,
          computed,
          corruption: false,
        });
        if (this.report.leakedClusters.length < MAX_LISTED_CLUSTERS)
          this.report.leakedClusters.push(i);
        census?.flag(i, "leaked");
      }
    };
    // Block by block: one read per refcount block, then a tight loop over its entries.
    const dense = Math.min(this.refs.size, this.refs.denseSize);
    for (let t = 0; t * perBlock < dense; t++) {
      const block = await this.block(t);
      const end = Math.min(dense, (t + 1) * perBlock);
      for (let i = t * perBlock; i < end; i++) {
        visit(
          i,
          block === 0 ? 0 : block === null ? null : refcountAt(block, i - t * perBlock, order),
        );
      }
    }
    if (this.refs.size > dense) {
      // Past the dense range only clusters with a reference or a stored refcount can differ.
      const candidates = new Set(this.refs.sparseClusters());
      for (let t = Math.floor(dense / perBlock); t < this.refTableEntries; t++) {
        const block = await this.block(t);
        if (block === 0) continue;
        for (
          let i = Math.max(dense, t * perBlock);
          i < Math.min(this.refs.size, (t + 1) * perBlock);
          i++
        ) {
          if ((await this.stored(i)) !== 0) candidates.add(i);
        }
      }
      for (const i of [...candidates].sort((a, b) => a - b)) visit(i, await this.stored(i));
    }
    this.report.imageEndOffset = (highest + 1) * this.cs;
  }

  private ownerList(i: number): ClusterOwner[] {
    const o = this.refs.owner(i);
    return o === null ? [] : [o];
  }

  /** QEMU's check_oflag_copied over the active L1/L2 tables. */
  private async checkCopiedFlags(): Promise<void> {
    const { info } = this;
    if (info.l1Size === 0) return;
    const l1 = await this.readTable(info.l1TableOffset, info.l1Size * 8);
    const l1View = new DataView(l1.buffer, l1.byteOffset, l1.byteLength);
    const l1Words = wordsOf(l1);
    const toScan: number[] = [];
    for (let i = 0; i < info.l1Size; i++) {
      if (l1Words !== null) {
        i = nextNonZero(l1Words, i, info.l1Size, 2);
        if (i === info.l1Size) break;
      }
      const hi = l1View.getUint32(i * 8);
      const lo = l1View.getUint32(i * 8 + 4);
      const l2Offset = offsetField(hi, lo);
      if (l2Offset === 0) continue;
      const k = Math.floor(l2Offset / this.cs);
      const l2Ref = this.storedSync(k) ?? (await this.stored(k));
      if (l2Ref === null) continue;
      if ((l2Ref === 1) !== isCopied(hi)) {
        this.problem({
          kind: "copied-flag",
          message: `ERROR OFLAG_COPIED L2 cluster: l1_index=${i} l1_entry=${hex64(hi, lo)} refcount=${l2Ref}`,
          hostOffset: info.l1TableOffset + i * 8,
          corruption: true,
        });
      }
      if (l2Offset < this.source.size) toScan.push(l2Offset);
    }
    const toRead = toScan.filter((o) => !this.activeEntries.has(o));
    const read = this.tables(toRead)[Symbol.asyncIterator]();
    for (const l2Offset of toScan) {
      this.spend();
      const known = this.activeEntries.get(l2Offset);
      if (known !== undefined) {
        for (let r = 0; r < known.length; r += 3) {
          const eh = known[r + 1] as number;
          const el = known[r + 2] as number;
          const k = Math.floor(offsetField(eh, el) / this.cs);
          const refcount = this.storedSync(k) ?? (await this.stored(k));
          if (refcount === null) continue;
          if ((refcount === 1) !== isCopied(eh)) {
            this.problem({
              kind: "copied-flag",
              message: `ERROR OFLAG_COPIED data cluster: l2_entry=${hex64(eh, el)} refcount=${refcount}`,
              hostOffset: l2Offset + (known[r] as number),
              corruption: true,
            });
          }
        }
        continue;
      }
      const next = await read.next();
      if (next.done) break;
      const table = next.value;
      const view = new DataView(table.buffer, table.byteOffset, table.byteLength);
      const words = wordsOf(table);
      const wordsPerEntry = this.entrySize >> 2;
      for (let j = 0; j < this.cs / this.entrySize; j++) {
        // An all-zero entry is unallocated here (its subcluster bitmap does not matter).
        const w = j * wordsPerEntry;
        if (words !== null && ((words[w] as number) | (words[w + 1] as number)) === 0) continue;
        const at = j * this.entrySize;
        const eh = view.getUint32(at);
        const el = view.getUint32(at + 4);
        if (isCompressed(eh)) continue;
        const offset = offsetField(eh, el);
        const allocated =
          offset !== 0 || (this.dataFile && isCopied(eh) && (this.extendedL2 || !hasZeroFlag(el)));
        if (!allocated) continue;
        const k = Math.floor(offset / this.cs);
        const refcount = this.dataFile ? 1 : (this.storedSync(k) ?? (await this.stored(k)));
        if (refcount === null) continue;
        if ((refcount === 1) !== isCopied(eh)) {
          this.problem({
            kind: "copied-flag",
            message: `ERROR OFLAG_COPIED data cluster: l2_entry=${hex64(eh, el)} refcount=${refcount}`,
            hostOffset: l2Offset + at,
            corruption: true,
          });
        }
      }
    }
  }
}
