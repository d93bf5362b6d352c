import { CRYPT_SECTOR, type SectorCipher } from "../crypto/cipher.js";
import { Qcow2Error } from "../errors.js";
import {
  hasZeroFlag,
  isCompressed,
  isCopied,
  nextNonZero,
  offsetField,
} from "../format/entry-words.js";
import {
  hasFeature,
  INCOMPAT_EXTENDED_L2,
  INCOMPAT_EXTERNAL_DATA_FILE,
} from "../format/features.js";
import {
  type ClusterDescriptor,
  clusterType,
  decodeL2Entry,
  l2EntrySize,
  SUBCLUSTERS_PER_CLUSTER,
  type SubclusterType,
  subclusterType,
} from "../format/l2-entry.js";
import { exactField } from "../format/numbers.js";
import type { Qcow2Info } from "../inspect.js";
import { LIMITS } from "../limits.js";
import type { Qcow2Snapshot } from "../snapshots.js";
import {
  type ByteSource,
  readIntoPadded,
  readPadded,
  readSmallPadded,
  readSmallPaddedIntoSync,
} from "../source/byte-source.js";
import { sourceIdentity } from "../source/identity.js";
import { type Decompressor, inflateWith, type ZstdDecompressor } from "./decompress.js";
import { L1Table } from "./l1-table.js";
import { type L2Geometry, type L2Table, scanL2 } from "./l2-storage.js";
import {
  type GuestRange,
  type Layer,
  type LayerExtent,
  type LayerIdentity,
  type LayerStorage,
  pushRange,
  wholeSectors,
} from "./layer.js";
import type { MappingEntries } from "./shared-tables.js";
import { TableCache } from "./table-cache.js";
import { TableReadAhead } from "./table-read-ahead.js";

/** Runs of one L2 table (see Qcow2Layer.tableRuns). */
interface TableRuns {
  l1Index: number;
  count: number;
  /** Index within the table of each run's first entry. */
  first: Float64Array;
  type: Uint8Array;
  /** Host offset of each run's first cluster, or -1. */
  host: Float64Array;
}

/** Runs a layer's run buffers hold before they grow (see Qcow2Layer.tableRuns). */
const INITIAL_RUNS = 64;

/** Doubles the capacity of `runs` (at most `max` runs, one per entry), keeping what it holds. */
function growRuns(runs: TableRuns, max: number): void {
  const size = Math.min(max, runs.first.length * 2);
  const first = new Float64Array(size);
  const type = new Uint8Array(size);
  const host = new Float64Array(size);
  first.set(runs.first);
  type.set(runs.type);
  host.set(runs.host);
  runs.first = first;
  runs.type = type;
  runs.host = host;
}

/** Compressed clusters decompressing at once within one read. */
const MAX_PARALLEL_DECOMPRESS = 32;

/** Longest host-contiguous run read in one I/O. */
const MAX_RUN = 16 * 1024 * 1024;

/** Bytes of L2 tables read ahead of a walk over a source without synchronous reads. */
const TABLE_READ_AHEAD_BYTES = 8 * 1024 * 1024;

/** What a Qcow2Layer needs beyond the image itself. */
export interface Qcow2LayerOptions {
  snapshot: Qcow2Snapshot | null;
  /** The external data file, when the image has one. */
  dataSource: ByteSource | null;
  deflate: Decompressor;
  zstd: ZstdDecompressor;
  l2CacheEntries?: number;
  /**
   * Reuse evicted L2 tables' buffers (see {@link TableCache}): only for a
   * layer through which no guest data is read (a metadata view).
   */
  recycleTables?: boolean;
  /**
   * Another layer of the same image file whose L2 tables this one may use
   * (and add to): views of many snapshots share most tables, read once.
   */
  shareTablesWith?: Qcow2Layer;
  /** Decrypts data clusters of an encrypted image. */
  cipher?: SectorCipher | null;
  /** Expose guest offsets up to this size (the VM state lives past the disk's end). */
  virtualSizeOverride?: number;
}

/** One stretch of a single cluster with one subcluster type. */
interface Run {
  /** Offset within the cluster. */
  start: number;
  length: number;
  type: SubclusterType;
  /** Host offset of the run's first byte (types that own a host cluster), else -1. */
  host: number;
}

/** A QCOW2 image (version 2 or 3) as one layer of a chain. */
export class Qcow2Layer implements Layer {
  readonly format = "qcow2" as const;
  readonly name: string;
  readonly virtualSize: number;
  readonly clusterSize: number;
  private readonly extendedL2: boolean;
  private readonly entrySize: number;
  private readonly l2Entries: number;
  private readonly subclusterSize: number;
  private readonly l2Cache: TableCache;
  readonly identity: LayerIdentity;
  readonly granularity: number;
  readonly mappingTableSpan: number;
  readonly l2Geometry: L2Geometry;
  private lastCompressed: { hostOffset: number; data: Uint8Array } | null = null;
  /** Only for sources whose every read is a round trip (remote ones). */
  private readonly tablesAhead: TableReadAhead | null;

  private constructor(
    readonly source: ByteSource,
    readonly info: Qcow2Info,
    private readonly l1: L1Table,
    virtualSize: number,
    private readonly options: Qcow2LayerOptions,
  ) {
    this.name = source.name;
    this.virtualSize = virtualSize;
    this.clusterSize = info.clusterSize as number;
    this.extendedL2 = hasFeature(info.incompatibleFeatures, INCOMPAT_EXTENDED_L2);
    this.entrySize = l2EntrySize(this.extendedL2);
    this.l2Entries = this.clusterSize / this.entrySize;
    this.subclusterSize = this.extendedL2
      ? this.clusterSize / SUBCLUSTERS_PER_CLUSTER
      : this.clusterSize;
    const shared = options.shareTablesWith;
    this.l2Cache =
      shared !== undefined && shared.source === source && shared.clusterSize === this.clusterSize
        ? shared.l2Cache
        : new TableCache(
            options.l2CacheEntries ?? LIMITS.l2CacheEntries,
            options.recycleTables === true,
          );
    this.granularity = this.subclusterSize;
    this.mappingTableSpan = this.l2Entries * this.clusterSize;
    // The L1 table (where, how long) is the view: a snapshot's or the active one.
    this.identity = {
      file: sourceIdentity(source),
      view: `l1@${l1.offset}+${l1.size}/${virtualSize}`,
    };
    this.l2Geometry = {
      clusterSize: this.clusterSize,
      clusterBits: info.clusterBits,
      l2Entries: this.l2Entries,
      extendedL2: this.extendedL2,
      dataFile: options.dataSource !== null,
    };
    const depth = Math.max(1, Math.min(16, Math.floor(TABLE_READ_AHEAD_BYTES / this.clusterSize)));
    this.tablesAhead = source.highLatency ? new TableReadAhead(depth) : null;
  }

  /** Opens the active disk, or the disk as of `options.snapshot`. `info` must have passed the reader's checks. */
  static async open(
    source: ByteSource,
    info: Qcow2Info,
    options: Qcow2LayerOptions,
  ): Promise<Qcow2Layer> {
    const clusterSize = info.clusterSize as number;
    const snapshot = options.snapshot;
    const l1Offset =
      snapshot === undefined || snapshot === null
        ? exactField(info.l1TableOffset, "l1_table_offset", info.outOfRange)
        : BigInt(snapshot.exact?.l1TableOffset ?? snapshot.l1TableOffset);
    const l1Size = snapshot?.l1Size ?? info.l1Size;
    // QEMU's qcow2_snapshot_load_tmp (qemu-img convert -l) swaps in the
    // snapshot's L1 table but keeps the current virtual size; the snapshot's
    // own recorded size stays available as `snapshot.diskSize`.
    // QEMU's disk is bs->total_sectors whole sectors: a size that is not a multiple of 512 is cut.
    const virtualSize = options.virtualSizeOverride ?? wholeSectors(info.virtualSize);
    const l1 = await L1Table.load(
      source,
      l1Offset,
      l1Size,
      clusterSize,
      snapshot ? `snapshot ${snapshot.id}` : "active",
    );
    const entrySize = l2EntrySize(hasFeature(info.incompatibleFeatures, INCOMPAT_EXTENDED_L2));
    // QEMU refuses an active L1 table too small to map the whole virtual disk
    // (a snapshot's may be smaller: the disk may have grown since).
    const needed = Math.ceil(virtualSize / (clusterSize * (clusterSize / entrySize)));
    if (snapshot === null && options.virtualSizeOverride === undefined && l1Size < needed) {
      throw new Qcow2Error(
        "INVALID_STRUCTURE",
        `L1 table has ${l1Size} entries, ${needed} needed for a ${virtualSize}-byte disk`,
        {
          field: "l1_size",
          value: l1Size,
        },
      );
    }
    return new Qcow2Layer(source, info, l1, virtualSize, options);
  }

  private get dataSource(): ByteSource {
    return this.options.dataSource ?? this.source;
  }

  private async l2Table(offset: number): Promise<DataView> {
    let table = this.l2Cache.get(offset);
    if (table === undefined) {
      const bytes =
        this.readRecycled(offset) ??
        (await (this.tablesAhead?.take(offset) ??
          readSmallPadded(this.source, offset, this.clusterSize)));
      table = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      this.l2Cache.set(offset, table);
    }
    return table;
  }

  /** Table `offset` read synchronously into an evicted table's buffer, when the cache recycles. */
  private readRecycled(offset: number): Uint8Array | undefined {
    if (this.source.readIntoSync === undefined || offset >= this.source.size) return undefined;
    const buffer = this.l2Cache.reusable(this.clusterSize);
    if (buffer === undefined) return undefined;
    if (readSmallPaddedIntoSync(this.source, buffer, offset)) return buffer;
    return undefined;
  }

  /**
   * The L2 entry of guest cluster `clusterIndex` and its subcluster bitmap.
   * Throws `INVALID_STRUCTURE` where QEMU would refuse the access.
   */
  async clusterEntry(clusterIndex: number): Promise<{ d: ClusterDescriptor; bitmap: bigint }> {
    const l1Index = Math.floor(clusterIndex / this.l2Entries);
    const table = await this.tableFor(l1Index);
    if (table === null) return { d: { kind: "unallocated" }, bitmap: 0n };
    const l2 = table.view;
    const at = (clusterIndex - l1Index * this.l2Entries) * this.entrySize;
    const d = decodeL2Entry(l2.getBigUint64(at), this.info.clusterBits, {
      hasDataFile: this.options.dataSource !== null,
      extendedL2: this.extendedL2,
    });
    if ((d.kind === "normal" || d.kind === "zero-alloc") && d.hostOffset % this.clusterSize !== 0) {
      throw new Qcow2Error(
        "INVALID_STRUCTURE",
        `data cluster offset ${d.hostOffset} (guest cluster ${clusterIndex}) is not cluster-aligned`,
        { field: "l2_entry", value: d.hostOffset, offset: table.offset + at },
      );
    }
    return { d, bitmap: this.extendedL2 ? l2.getBigUint64(at + 8) : 0n };
  }

  /** Runs of one type covering `[from, to)` of guest cluster `clusterIndex` (in-cluster offsets). */
  private async runs(clusterIndex: number, from: number, to: number): Promise<Run[]> {
    const { d, bitmap } = await this.clusterEntry(clusterIndex);
    const base = d.kind === "normal" || d.kind === "zero-alloc" ? d.hostOffset : -1;
    const out: Run[] = [];
    if (!this.extendedL2) {
      out.push({
        start: from,
        length: to - from,
        type: clusterType(d),
        host: base < 0 ? -1 : base + from,
      });
      return out;
    }
    const sc = this.subclusterSize;
    for (let pos = from; pos < to; ) {
      const index = Math.floor(pos / sc);
      const type = subclusterType(d, bitmap, index);
      if (type === "invalid") {
        throw new Qcow2Error(
          "INVALID_STRUCTURE",
          `invalid extended L2 entry for guest cluster ${clusterIndex} (bitmap 0x${bitmap.toString(16)})`,
          {
            field: "l2_bitmap",
            value: `0x${bitmap.toString(16)}`,
          },
        );
      }
      const end = Math.min(to, (index + 1) * sc);
      const last = out[out.length - 1];
      if (last !== undefined && last.type === type) last.length += end - pos;
      else out.push({ start: pos, length: end - pos, type, host: base < 0 ? -1 : base + pos });
      pos = end;
    }
    return out;
  }

  async readOwn(out: Uint8Array, offset: number): Promise<GuestRange[]> {
    if (!this.extendedL2) return this.readOwnStandard(out, offset);
    const holes: GuestRange[] = [];
    const cs = this.clusterSize;
    const end = offset + out.length;
    // A run of guest bytes stored contiguously on the host, read with one I/O.
    let runHost = 0;
    let runOut = 0;
    let runLen = 0;
    const flush = async () => {
      if (runLen === 0) return;
      out.set(await this.readData(runHost, runLen, offset + runOut), runOut);
      runLen = 0;
    };
    let pos = offset;
    while (pos < end) {
      const clusterIndex = Math.floor(pos / cs);
      const clusterStart = clusterIndex * cs;
      const to = Math.min(cs, end - clusterStart);
      for (const run of await this.runs(clusterIndex, pos - clusterStart, to)) {
        const guest = clusterStart + run.start;
        switch (run.type) {
          case "normal":
            if (runLen > 0 && runHost + runLen === run.host) {
              runLen += run.length;
            } else {
              await flush();
              runHost = run.host;
              runOut = guest - offset;
              runLen = run.length;
            }
            break;
          case "compressed": {
            await flush();
            const data = await this.decompressCluster(clusterIndex);
            out.set(data.subarray(run.start, run.start + run.length), guest - offset);
            break;
          }
          case "unallocated-plain":
          case "unallocated-alloc":
            await flush();
            pushRange(holes, guest, run.length);
            break;
          default:
            // Both zero kinds read as zeros and hide the backing file.
            await flush();
            out.fill(0, guest - offset, guest - offset + run.length);
        }
      }
      pos = clusterStart + to;
    }
    await flush();
    return holes;
  }

  /** The L2 table of L1 entry `l1Index` (null: none), checking its alignment as QEMU does. */
  private async tableFor(l1Index: number): Promise<{ offset: number; view: DataView } | null> {
    const l2Offset = this.l1.offsetAt(l1Index);
    if (l2Offset === 0) return null;
    if (l2Offset % this.clusterSize !== 0) {
      throw new Qcow2Error(
        "INVALID_STRUCTURE",
        `L2 table offset ${l2Offset} (L1 index ${l1Index}) is not cluster-aligned`,
        {
          field: "l1_entry",
          value: l2Offset,
          offset: this.l1.offset + l1Index * 8,
        },
      );
    }
    this.tablesAhead?.visit(
      l1Index,
      (i) => this.tableOffset(i),
      (o) => this.l2Cache.has(o),
      (o) => readSmallPadded(this.source, o, this.clusterSize),
    );
    return { offset: l2Offset, view: await this.l2Table(l2Offset) };
  }

  /** L1 entry `index`'s table offset when it has a usable one (else `null`). */
  private tableOffset(index: number): number | null {
    if (index >= this.l1.size) return null;
    const offset = this.l1.offsetAt(index);
    return offset === 0 || offset % this.clusterSize !== 0 ? null : offset;
  }

  private misaligned(host: number, clusterIndex: number, entryOffset: number): Qcow2Error {
    return new Qcow2Error(
      "INVALID_STRUCTURE",
      `data cluster offset ${host} (guest cluster ${clusterIndex}) is not cluster-aligned`,
      {
        field: "l2_entry",
        value: host,
        offset: entryOffset,
      },
    );
  }

  /**
   * readOwn for standard (8-byte) L2 entries: one table fetch per L2 table,
   * entries decoded as two 32-bit words, host-contiguous runs read with one
   * I/O straight into `out`. No object per cluster.
   */
  private async readOwnStandard(out: Uint8Array, offset: number): Promise<GuestRange[]> {
    const holes: GuestRange[] = [];
    const pending: Array<Promise<void>> = [];
    const cs = this.clusterSize;
    const end = offset + out.length;
    const tableSpan = this.l2Entries * cs;
    const dataFile = this.options.dataSource !== null;
    let runHost = 0;
    let runGuest = 0;
    let runLen = 0;
    const flush = async () => {
      if (runLen === 0) return;
      await this.readDataInto(
        out.subarray(runGuest - offset, runGuest - offset + runLen),
        runHost,
        runGuest,
      );
      runLen = 0;
    };
    let pos = offset;
    while (pos < end) {
      const l1Index = Math.floor(pos / tableSpan);
      const tableEnd = Math.min(end, (l1Index + 1) * tableSpan);
      const table = await this.tableFor(l1Index);
      if (table === null) {
        pushRange(holes, pos, tableEnd - pos);
        pos = tableEnd;
        continue;
      }
      const view = table.view;
      while (pos < tableEnd) {
        const clusterIndex = Math.floor(pos / cs);
        const inCluster = pos - clusterIndex * cs;
        const n = Math.min(cs - inCluster, tableEnd - pos);
        const at = (clusterIndex - l1Index * this.l2Entries) * 8;
        const hi = view.getUint32(at);
        const lo = view.getUint32(at + 4);
        if (isCompressed(hi)) {
          const at0 = pos - offset;
          const from = inCluster;
          const len = n;
          const done = this.decompressCluster(clusterIndex).then((data) =>
            out.set(data.subarray(from, from + len), at0),
          );
          // Observed now so that a failure while the loop awaits other I/O is not an unhandled
          // rejection; Promise.all below still rethrows it.
          done.catch(() => {});
          pending.push(done);
          if (pending.length >= MAX_PARALLEL_DECOMPRESS) await Promise.all(pending.splice(0));
        } else {
          const host = offsetField(hi, lo);
          if (hasZeroFlag(lo)) {
            // Zero clusters read as zeros and hide the backing file.
            if (host % cs !== 0) throw this.misaligned(host, clusterIndex, table.offset + at);
            out.fill(0, pos - offset, pos - offset + n);
          } else if (host === 0 && !(dataFile && isCopied(hi))) {
            pushRange(holes, pos, n);
          } else {
            if (host % cs !== 0) throw this.misaligned(host, clusterIndex, table.offset + at);
            const h = host + inCluster;
            if (
              runLen > 0 &&
              runHost + runLen === h &&
              runGuest + runLen === pos &&
              runLen + n <= MAX_RUN
            ) {
              runLen += n;
            } else {
              await flush();
              runHost = h;
              runGuest = pos;
              runLen = n;
            }
          }
        }
        pos += n;
      }
    }
    await flush();
    await Promise.all(pending);
    return holes;
  }

  /** The runs of the last L2 table answered (map walks tables in order). */
  private runCache: TableRuns | null = null;
  private runBuffers: TableRuns | null = null;

  /**
   * Splits L2 table `l1Index` into runs of one type (host-contiguous for
   * types with a host offset), decoded once as two 32-bit words per entry.
   * Type codes: 0 unallocated, 1 normal, 2 compressed, 3 zero-plain, 4 zero-alloc.
   */
  private async tableRuns(l1Index: number): Promise<TableRuns | null> {
    if (this.runCache?.l1Index === l1Index) return this.runCache;
    const table = await this.tableFor(l1Index);
    if (table === null) return null;
    const view = table.view;
    this.runCache = null;
    const cs = this.clusterSize;
    const dataFile = this.options.dataSource !== null;
    const base = l1Index * this.l2Entries;
    const n = this.l2Entries;
    // One set of arrays per layer, reused table after table (map visits thousands).
    // Sized for a few runs and grown on demand: a table of thousands of runs is rare, and fresh
    // memory for every entry of every layer of a long chain costs more than the decoding.
    const runs: TableRuns = this.runBuffers ?? {
      l1Index,
      count: 0,
      first: new Float64Array(Math.min(n, INITIAL_RUNS)),
      type: new Uint8Array(Math.min(n, INITIAL_RUNS)),
      host: new Float64Array(Math.min(n, INITIAL_RUNS)),
    };
    this.runBuffers = runs;
    runs.l1Index = l1Index;
    runs.count = 0;
    let prevType = -1;
    let prevHost = -1;
    // Most entries are empty: inside an unallocated run they are skipped eight words at a time.
    const words =
      view.byteOffset % 4 === 0 ? new Int32Array(view.buffer, view.byteOffset, n * 2) : null;
    for (let j = 0; j < n; j++) {
      if (prevType === 0 && words !== null) {
        j = nextNonZero(words, j, n, 2);
        if (j === n) break;
      }
      const at = j * 8;
      const hi = view.getUint32(at);
      const lo = view.getUint32(at + 4);
      let type: number;
      let host = -1;
      if (isCompressed(hi)) {
        type = 2;
      } else {
        const h = offsetField(hi, lo);
        if (hasZeroFlag(lo)) {
          if (h % cs !== 0) throw this.misaligned(h, base + j, table.offset + at);
          type = h === 0 ? 3 : 4;
          host = h === 0 ? -1 : h;
        } else if (h === 0 && !(dataFile && isCopied(hi))) {
          type = 0;
        } else {
          if (h % cs !== 0) throw this.misaligned(h, base + j, table.offset + at);
          type = 1;
          host = h;
        }
      }
      const continues = type === prevType && (host < 0 || host === prevHost + cs);
      if (!continues) {
        if (runs.count === runs.first.length) growRuns(runs, n);
        runs.first[runs.count] = j;
        runs.type[runs.count] = type;
        runs.host[runs.count] = host;
        runs.count++;
      }
      prevType = type;
      prevHost = host;
    }
    this.runCache = runs;
    return runs;
  }

  /**
   * {@link status} answered without waiting when it needs no read (an
   * unallocated stretch, or the L2 table already split into runs);
   * `undefined` otherwise. Map asks this first: one promise per extent would
   * dominate the cost of mapping millions of extents.
   */
  statusSync(offset: number, maxLength: number): LayerExtent | undefined {
    if (this.extendedL2) return undefined;
    const tableSpan = this.l2Entries * this.clusterSize;
    const l1Index = Math.floor(offset / tableSpan);
    if (this.l1.offsetAt(l1Index) === 0) return this.unallocatedStretch(offset, maxLength);
    if (this.runCache?.l1Index !== l1Index) return undefined;
    return this.extentFromRuns(this.runCache, offset, maxLength);
  }

  /** The unallocated stretch from `offset` over consecutive L1 entries without an L2 table. */
  private unallocatedStretch(offset: number, maxLength: number): LayerExtent {
    const tableSpan = this.l2Entries * this.clusterSize;
    let table = Math.floor(offset / tableSpan) + 1;
    const end = Math.min(offset + maxLength, this.virtualSize);
    while (table * tableSpan < end && this.l1.offsetAt(table) === 0) table++;
    return {
      length: Math.max(1, Math.min(end, table * tableSpan) - offset),
      data: false,
      zero: false,
    };
  }

  /**
   * status for standard L2 entries: the run of one type (host-contiguous for
   * types with a host offset) containing `offset`, within its L2 table.
   */
  private async statusStandard(offset: number, maxLength: number): Promise<LayerExtent> {
    const cs = this.clusterSize;
    const tableSpan = this.l2Entries * cs;
    const l1Index = Math.floor(offset / tableSpan);
    const limit = Math.min(offset + maxLength, (l1Index + 1) * tableSpan, this.virtualSize);
    const runs = await this.tableRuns(l1Index);
    if (runs === null) return { length: Math.max(1, limit - offset), data: false, zero: false };
    return this.extentFromRuns(runs, offset, maxLength);
  }

  private extentFromRuns(runs: TableRuns, offset: number, maxLength: number): LayerExtent {
    const cs = this.clusterSize;
    const l1Index = runs.l1Index;
    const limit = Math.min(
      offset + maxLength,
      (l1Index + 1) * this.l2Entries * cs,
      this.virtualSize,
    );
    const entry = Math.floor(offset / cs) - l1Index * this.l2Entries;
    // Runs are few and map asks in increasing order: a binary search is plenty.
    let lo = 0;
    let hi = runs.count - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((runs.first[mid] as number) <= entry) lo = mid;
      else hi = mid - 1;
    }
    const type = runs.type[lo] as number;
    const runStart = (runs.first[lo] as number) + l1Index * this.l2Entries;
    const runEnd =
      lo + 1 < runs.count
        ? (runs.first[lo + 1] as number) + l1Index * this.l2Entries
        : (l1Index + 1) * this.l2Entries;
    const extent: LayerExtent = {
      length: Math.max(1, Math.min(runEnd * cs, limit) - offset),
      data: type === 1 || type === 2,
      zero: type === 3 || type === 4,
    };
    if (type === 2) extent.compressed = true;
    const host = runs.host[lo] as number;
    if (host >= 0 && this.info.encryptionMethod === 0) {
      extent.offset = host + (offset - runStart * cs);
      extent.file = this.dataSource.name;
    }
    return extent;
  }

  /** Host bytes of a data run written straight into `target`, decrypted when encrypted. */
  private async readDataInto(target: Uint8Array, host: number, guest: number): Promise<void> {
    if (this.options.cipher) {
      target.set(await this.readData(host, target.length, guest));
      return;
    }
    await readIntoPadded(this.dataSource, target, host);
  }

  /**
   * Host bytes of a data run, decrypted when the image is encrypted: the run
   * is widened to whole 512-byte sectors, decrypted, and cut back.
   */
  private async readData(host: number, length: number, guest: number): Promise<Uint8Array> {
    const cipher = this.options.cipher;
    if (!cipher) return readPadded(this.dataSource, host, length);
    const start = Math.floor(host / CRYPT_SECTOR) * CRYPT_SECTOR;
    const end = Math.ceil((host + length) / CRYPT_SECTOR) * CRYPT_SECTOR;
    const bytes = (await readPadded(this.dataSource, start, end - start)).slice();
    cipher.decrypt(bytes, cipher.ivFrom === "host" ? start : guest - (host - start));
    return bytes.subarray(host - start, host - start + length);
  }

  async status(offset: number, maxLength: number): Promise<LayerExtent> {
    const cs = this.clusterSize;
    const tableSpan = this.l2Entries * cs;
    // Stretches without an L2 table are unallocated as a whole: answer them in
    // one step (qemu-img map merges the per-table answers it gets into the same
    // extent), so a vast sparse disk maps in time proportional to its L1 table.
    if (this.l1.offsetAt(Math.floor(offset / tableSpan)) === 0)
      return this.unallocatedStretch(offset, maxLength);
    if (!this.extendedL2) return this.statusStandard(offset, maxLength);
    // One L2 table at most per answer otherwise, as QEMU's qcow2_get_host_offset.
    const limit = Math.min(
      offset + maxLength,
      (Math.floor(offset / tableSpan) + 1) * tableSpan,
      this.virtualSize,
    );
    let first: Run | undefined;
    let length = 0;
    for (let pos = offset; pos < limit; ) {
      const clusterIndex = Math.floor(pos / cs);
      const clusterStart = clusterIndex * cs;
      const to = Math.min(cs, limit - clusterStart);
      let stop = false;
      for (const run of await this.runs(clusterIndex, pos - clusterStart, to)) {
        if (first === undefined) {
          first = run;
        } else if (
          run.type !== first.type ||
          (first.host >= 0 && run.host !== first.host + length)
        ) {
          stop = true;
          break;
        }
        length += run.length;
      }
      if (stop) break;
      pos = clusterStart + to;
    }
    const type = first?.type ?? "unallocated-plain";
    const extent: LayerExtent = {
      length: Math.max(length, 1),
      data: type === "normal" || type === "compressed",
      zero: type === "zero-plain" || type === "zero-alloc",
    };
    if (type === "compressed") extent.compressed = true;
    // Encrypted images never expose host offsets (QEMU: `!s->crypto`).
    if (first !== undefined && first.host >= 0 && this.info.encryptionMethod === 0) {
      extent.offset = first.host;
      extent.file = this.dataSource.name;
    }
    return extent;
  }

  mappingTableAt(offset: number): number {
    return this.l1.offsetAt(Math.floor(offset / this.mappingTableSpan));
  }

  mappingEntriesSync(offset: number): MappingEntries | undefined {
    const l2Offset = this.mappingTableAt(offset);
    const view = l2Offset === 0 ? undefined : this.l2Cache.get(l2Offset);
    if (view === undefined) return undefined;
    return {
      bytes: new Uint8Array(view.buffer, view.byteOffset, view.byteLength),
      entrySize: this.entrySize,
    };
  }

  async mappingEntries(offset: number): Promise<MappingEntries | undefined> {
    const table = await this.tableFor(Math.floor(offset / this.mappingTableSpan));
    if (table === null) return undefined;
    const view = table.view;
    return {
      bytes: new Uint8Array(view.buffer, view.byteOffset, view.byteLength),
      entrySize: this.entrySize,
    };
  }

  storageSync(offset: number, maxLength: number): LayerStorage | undefined {
    const l1Index = Math.floor(offset / this.mappingTableSpan);
    const l2Offset = this.l1.offsetAt(l1Index);
    if (l2Offset === 0)
      return { length: this.unallocatedStretch(offset, maxLength).length, kind: "unallocated" };
    const view = this.l2Cache.get(l2Offset);
    if (view === undefined) return undefined;
    return this.storageIn(
      { view, offset: l2Offset, guestStart: l1Index * this.mappingTableSpan },
      offset,
      maxLength,
    );
  }

  async storage(offset: number, maxLength: number): Promise<LayerStorage> {
    const known = this.storageSync(offset, maxLength);
    if (known !== undefined) return known;
    const l1Index = Math.floor(offset / this.mappingTableSpan);
    const table = await this.tableFor(l1Index);
    if (table === null) return { length: Math.max(1, maxLength), kind: "unallocated" };
    return this.storageIn(
      { view: table.view, offset: table.offset, guestStart: l1Index * this.mappingTableSpan },
      offset,
      maxLength,
    );
  }

  /** The last table {@link storageIn} scanned, as 32-bit words (made once per table, not per step). */
  private wordsOf: { view: DataView; words: Int32Array | undefined } | null = null;

  private storageIn(table: L2Table, offset: number, maxLength: number): LayerStorage {
    if (this.wordsOf?.view !== table.view) {
      const v = table.view;
      this.wordsOf = {
        view: v,
        words:
          v.byteOffset % 4 === 0
            ? new Int32Array(v.buffer, v.byteOffset, v.byteLength >> 2)
            : undefined,
      };
    }
    if (this.wordsOf.words !== undefined) table.words = this.wordsOf.words;
    const limit = Math.min(
      offset + maxLength,
      table.guestStart + this.mappingTableSpan,
      this.virtualSize,
    );
    const run = scanL2(table, this.l2Geometry, offset, Math.max(limit, offset + 1));
    const length = Math.max(1, run.length);
    // Whole literals: a diff builds one per changed cluster, and adding fields one by one costs more.
    let out: LayerStorage;
    if (run.kind === "data") {
      out = { length, kind: "data", source: this.dataSource, offset: run.offset as number };
    } else if (run.kind === "compressed") {
      out = {
        length,
        kind: "compressed",
        source: this.source,
        offset: run.offset as number,
        compressedLength: run.compressedLength as number,
        inCluster: run.inCluster as number,
      };
    } else {
      return { length, kind: run.kind };
    }
    if (this.info.encryptionMethod !== 0) out.encrypted = true;
    return out;
  }

  private async decompressCluster(clusterIndex: number): Promise<Uint8Array> {
    const { d } = await this.clusterEntry(clusterIndex);
    if (d.kind !== "compressed") throw new Error("not a compressed cluster");
    if (this.lastCompressed?.hostOffset === d.hostOffset) return this.lastCompressed.data;
    const input = await readSmallPadded(this.source, d.hostOffset, d.compressedLength);
    let data: Uint8Array;
    try {
      // The asynchronous codecs run off the main thread (libuv's pool for zlib),
      // so the compressed clusters of one read decompress in parallel.
      if (this.info.compressionType === 1) {
        const z = this.options.zstd;
        data = z.decompressAsync
          ? await z.decompressAsync(input, this.clusterSize)
          : z.decompress(input, this.clusterSize);
      } else {
        data = await inflateWith(this.options.deflate, input, this.clusterSize);
      }
    } catch (cause) {
      throw new Qcow2Error(
        "DECOMPRESSION_FAILED",
        `compressed cluster at offset ${d.hostOffset} (+${d.compressedLength}) does not decompress (${this.info.compressionTypeName}) to ${this.clusterSize} bytes`,
        { offset: d.hostOffset, cause },
      );
    }
    if (data.length !== this.clusterSize) {
      // A caller-supplied codec that returns short: the rest of the cluster must not read as stale bytes.
      throw new Qcow2Error(
        "DECOMPRESSION_FAILED",
        `compressed cluster at offset ${d.hostOffset} decompressed to ${data.length} bytes, not ${this.clusterSize}`,
        { offset: d.hostOffset },
      );
    }
    this.lastCompressed = { hostOffset: d.hostOffset, data };
    return data;
  }

  async close(): Promise<void> {
    await this.options.dataSource?.close?.();
    await this.source.close?.();
  }
}

/** True when the image keeps guest data in an external data file. */
export function hasExternalDataFile(info: Qcow2Info): boolean {
  return hasFeature(info.incompatibleFeatures, INCOMPAT_EXTERNAL_DATA_FILE);
}
