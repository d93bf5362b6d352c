import type { CheckTableVisit } from "../check/check.js";
import { offsetField } from "../format/entry-words.js";
import {
  hasFeature,
  INCOMPAT_EXTENDED_L2,
  INCOMPAT_EXTERNAL_DATA_FILE,
} from "../format/features.js";
import { validateTable } from "../format/validate-table.js";
import type { Qcow2Info } from "../inspect.js";
import { LIMITS } from "../limits.js";
import type { Qcow2Snapshot } from "../snapshots.js";
import type { L2Geometry } from "./l2-storage.js";
import { wholeSectors } from "./layer.js";
import {
  Summary,
  sparseEntries,
  TableComparer,
  type TableDiffSummary,
  TableMemo,
  type TableRuns,
} from "./table-diff-summary.js";

/** Active L2 tables kept to compare snapshots' tables against as the check reads them. */
const KEPT_ACTIVE_BYTES = 64 * 1024 * 1024;
/** L1 entries kept across all snapshots (32 MiB); a snapshot past it is measured by a walk. */
const KEPT_L1_ENTRIES = 4 * 1024 * 1024;

/** One snapshot's L1 table as the check read it. */
interface SnapshotTables {
  /** L2 table offset of each L1 entry that maps the disk (0 past the table's end). */
  offsets: Float64Array;
  /** The reader would refuse this L1 table: its summary is left to a walk. */
  refused: boolean;
}

/**
 * The metadata-only divergence of every snapshot from the active disk (the
 * diff summary of `metadataView(snapshot)` against `metadataView(null)`),
 * learnt from the tables `check` reads anyway: pass {@link visit} as
 * `CheckOptions.onTable`. Each L2 table a snapshot does not share with the
 * active disk is compared once, as the check reads it; a table several
 * snapshots share is compared once for all. No table is read twice.
 *
 * A snapshot it cannot answer for (`null` from {@link summary}): a table
 * the reader would refuse, a table the check did not read at this L1 index,
 * more active tables than it keeps. Measure that one with `diffSummary`.
 *
 * @example
 * ```ts
 * const divergence = SnapshotDivergence.of(info, source.size);
 * await check(source, info, { onTable: divergence?.visit });
 * divergence?.summary(snapshot); // { extents, changedBytes, first } or null
 * ```
 */
export class SnapshotDivergence {
  private readonly geometry: L2Geometry;
  private readonly span: number;
  private readonly size: number;
  private readonly tableCount: number;
  private active: Float64Array | null = null;
  private readonly activeTables = new Map<number, Uint8Array>();
  private keptBytes = 0;
  private keptEntries = 0;
  private readonly snapshots = new Map<number, SnapshotTables>();
  private readonly comparer: TableComparer;
  private readonly memo = new TableMemo();
  /** Per L1 index, the active table's non-zero entries when it is sparse (`null`: dense). */
  private readonly activeSparse = new Map<number, Int32Array | null>();

  private constructor(
    info: Qcow2Info,
    private readonly fileSize: number,
  ) {
    const cs = info.clusterSize as number;
    this.geometry = {
      clusterSize: cs,
      clusterBits: info.clusterBits,
      l2Entries: cs / 8,
      extendedL2: false,
      dataFile: false,
    };
    this.span = (cs / 8) * cs;
    this.size = wholeSectors(info.virtualSize);
    this.tableCount = Math.ceil(this.size / this.span);
    this.comparer = new TableComparer(this.geometry);
  }

  /**
   * A collector for `info`'s image, or `null` where a snapshot's divergence
   * involves more than its own tables (a backing file, an external data
   * file) or entries it does not decode (extended L2).
   */
  static of(info: Qcow2Info, fileSize: number): SnapshotDivergence | null {
    const f = info.incompatibleFeatures;
    const cs = info.clusterSize ?? 0;
    if (
      info.version === 1 ||
      !(cs > 0) ||
      // The reader refuses an active L1 table too short for the disk: no view, no divergence.
      Math.ceil(wholeSectors(info.virtualSize) / ((cs / 8) * cs)) > info.l1Size ||
      info.backingFile !== null ||
      hasFeature(f, INCOMPAT_EXTERNAL_DATA_FILE) ||
      hasFeature(f, INCOMPAT_EXTENDED_L2) ||
      !Number.isSafeInteger(info.clusterSize) ||
      !Number.isSafeInteger(info.virtualSize)
    )
      return null;
    return new SnapshotDivergence(info, fileSize);
  }

  /** The `CheckOptions.onTable` hook. */
  readonly visit = (v: CheckTableVisit): void => {
    if (v.level === 1) {
      this.visitL1(v);
      return;
    }
    if (v.bytes === null || v.l1Index >= this.tableCount) return;
    if (v.snapshot === null) {
      if (this.keptBytes + v.bytes.length > KEPT_ACTIVE_BYTES) return;
      this.keptBytes += v.bytes.length;
      this.activeTables.set(v.l1Index, v.bytes.slice());
      return;
    }
    const active = this.active;
    if (active === null) return;
    const y = active[v.l1Index] as number;
    if (y === v.offset) return;
    const against = this.tableBytes(y, v.l1Index);
    if (against === undefined) return;
    const start = v.l1Index * this.span;
    const length = Math.min(this.span, this.size - start);
    const key = pairKey(v.offset, y, start, length);
    if (this.memo.get(key) !== undefined) return;
    const runs = this.comparer.compare(
      v.bytes,
      against,
      start,
      length,
      this.sparseAt(v.l1Index, y),
      v.nonZero ?? undefined,
    );
    // A refused entry: no runs kept, and the summary leaves the snapshot to a walk.
    if (runs !== null) this.memo.set(key, runs);
  };

  /**
   * L2 tables in which the snapshot's mapping differs from the active
   * disk's (the work a metadata diff of them does); `null` when unknown.
   */
  differingTables(snapshot: Qcow2Snapshot): number | null {
    const tables = this.snapshots.get(snapshot.offset);
    const active = this.active;
    if (tables === undefined || active === null) return null;
    let n = 0;
    for (let t = 0; t < this.tableCount; t++) if (tables.offsets[t] !== active[t]) n++;
    return n;
  }

  /** The snapshot's divergence from the active disk; `null` when it must be walked instead. */
  summary(snapshot: Qcow2Snapshot): TableDiffSummary | null {
    const tables = this.snapshots.get(snapshot.offset);
    const active = this.active;
    if (tables === undefined || tables.refused || active === null) return null;
    const cs = this.geometry.clusterSize;
    const summary = new Summary(cs);
    for (let t = 0; t < this.tableCount; t++) {
      const x = tables.offsets[t] as number;
      const y = active[t] as number;
      if (x === y) continue;
      // The reader refuses a misaligned table where a diff must read it.
      if (x % cs !== 0 || y % cs !== 0) return null;
      const start = t * this.span;
      const length = Math.min(this.span, this.size - start);
      const key = pairKey(x, y, start, length);
      let runs: TableRuns | null | undefined = this.memo.get(key);
      if (runs === undefined) {
        // Only a table the check did not read (none, or past end of file) is compared here: as zeros.
        const own = this.tableBytes(x, t);
        const against = this.tableBytes(y, t);
        if (own !== this.comparer.zeros || against === undefined) return null;
        runs = this.comparer.compare(own, against, start, length);
        if (runs === null) return null;
        this.memo.set(key, runs);
      }
      summary.add(runs);
    }
    return summary.result();
  }

  /** The non-zero entries of the active table at `t` (at offset `y`) when it is sparse. */
  private sparseAt(t: number, y: number): Int32Array | undefined {
    let found = this.activeSparse.get(t);
    if (found === undefined) {
      const bytes = this.tableBytes(y, t);
      const entries = Math.ceil(
        Math.min(this.span, this.size - t * this.span) / this.geometry.clusterSize,
      );
      const sparse = bytes === undefined ? undefined : sparseEntries(bytes, entries);
      found = sparse ?? null;
      this.activeSparse.set(t, found);
    }
    return found ?? undefined;
  }

  private visitL1(v: CheckTableVisit): void {
    const bytes = v.bytes as Uint8Array;
    // Only the entries that map the disk (the active table has them all: see `of`).
    if (v.snapshot !== null && this.keptEntries + this.tableCount > KEPT_L1_ENTRIES) return;
    this.keptEntries += this.tableCount;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const entries = Math.floor(bytes.length / 8);
    const offsets = new Float64Array(this.tableCount);
    for (let t = 0; t < Math.min(entries, this.tableCount); t++)
      offsets[t] = offsetField(view.getUint32(t * 8), view.getUint32(t * 8 + 4));
    const sn = v.snapshot;
    if (sn === null) {
      this.active = entries >= this.tableCount ? offsets : null;
      return;
    }
    const l1Offset = BigInt(sn.exact?.l1TableOffset ?? sn.l1TableOffset);
    const refused =
      validateTable(
        l1Offset,
        sn.l1Size,
        8,
        LIMITS.maxL1Entries * 8,
        this.geometry.clusterSize,
        "L1 table",
      ) !== null;
    this.snapshots.set(sn.offset, { offsets, refused });
  }

  /**
   * A table's entries at L1 index `t`: zeros for none or one wholly past end
   * of file (the reader reads zeros there), the kept copy of an active one.
   */
  private tableBytes(offset: number, t: number): Uint8Array | undefined {
    if (offset === 0 || offset >= this.fileSize) return this.comparer.zeros;
    return this.active !== null && this.active[t] === offset ? this.activeTables.get(t) : undefined;
  }
}

/** The memo key of a table pair: both tables and the guest range they map. */
function pairKey(from: number, to: number, start: number, length: number): string {
  return `${from}:${to}:${start}:${length}`;
}
