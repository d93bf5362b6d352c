import { isQcow2Error, Qcow2Error } from "../errors.js";
import { type ClusterDescriptor, decodeL2Entry, l1EntryOffset } from "../format/l2-entry.js";
import { inspect, type Qcow2Info } from "../inspect.js";
import { LIMITS } from "../limits.js";
import { type Qcow2Snapshot, readSnapshots } from "../snapshots.js";
import { type ByteSource, readPadded } from "../source/byte-source.js";
import { type Decompressor, fflateDecompressor } from "./decompress.js";
import { L1Table } from "./l1-table.js";
import { LruCache } from "./lru-cache.js";
import { assertReadable } from "./open-checks.js";

/** Options for {@link Qcow2Image.open}. */
export interface OpenImageOptions {
  /** Raw-deflate implementation; defaults to pure-JS fflate (the Node entry passes `node:zlib`). */
  decompressor?: Decompressor;
  /** View the disk as of this internal snapshot (matched by id first, then by name). */
  snapshot?: string;
  /** L2 tables kept in memory (default {@link LIMITS.l2CacheEntries}). */
  l2CacheEntries?: number;
}

/** Largest single `read()` the API serves; larger requests should stream. */
export const MAX_READ_LENGTH = 256 * 1024 * 1024;

/**
 * An open QCOW2 image: the guest-visible virtual disk, read-only, with a
 * bounded L2-table cache. Reads equal what QEMU shows the guest.
 *
 * @example
 * ```ts
 * const image = await Qcow2Image.open(source);
 * const mbr = await image.read(0, 512);
 * for await (const chunk of image.stream()) hash.update(chunk);
 * ```
 */
export class Qcow2Image {
  /** Size of the virtual disk in bytes. */
  readonly virtualSize: number;
  readonly clusterSize: number;
  private readonly clusterBits: number;
  private readonly l2Entries: number;
  private readonly l2Cache: LruCache<number, DataView>;
  private readonly decompressor: Decompressor;
  private lastCompressed: { hostOffset: number; data: Uint8Array } | null = null;

  private constructor(
    readonly source: ByteSource,
    readonly info: Qcow2Info,
    private readonly l1: L1Table,
    virtualSize: number,
    /** The snapshot viewed, or `null` for the active disk. */
    readonly snapshot: Qcow2Snapshot | null,
    options: OpenImageOptions,
  ) {
    this.clusterSize = info.clusterSize ?? 0;
    this.clusterBits = info.clusterBits;
    this.l2Entries = this.clusterSize / 8;
    this.virtualSize = virtualSize;
    this.l2Cache = new LruCache(Math.max(1, options.l2CacheEntries ?? LIMITS.l2CacheEntries));
    this.decompressor = options.decompressor ?? fflateDecompressor;
  }

  /**
   * Opens `source` for reading. Throws a {@link Qcow2Error} for anything the
   * reader cannot decode faithfully (code `UNSUPPORTED_FEATURE` names it).
   */
  static async open(source: ByteSource, options: OpenImageOptions = {}): Promise<Qcow2Image> {
    try {
      const info = await inspect(source);
      assertReadable(info);
      const clusterSize = info.clusterSize as number;
      let l1Offset = info.l1TableOffset;
      let l1Size = info.l1Size;
      let virtualSize = info.virtualSize;
      let snapshot: Qcow2Snapshot | null = null;
      if (options.snapshot !== undefined) {
        snapshot = await findSnapshot(source, info, options.snapshot);
        l1Offset = snapshot.l1TableOffset;
        l1Size = snapshot.l1Size;
        virtualSize = snapshot.diskSize ?? info.virtualSize;
      }
      const l1 = await L1Table.load(
        source,
        l1Offset,
        l1Size,
        clusterSize,
        snapshot ? `snapshot ${snapshot.id}` : "active",
      );
      // QEMU refuses an L1 table too small to map the whole virtual disk.
      const needed = Math.ceil(virtualSize / (clusterSize * (clusterSize / 8)));
      if (l1Size < needed) {
        throw new Qcow2Error(
          "INVALID_STRUCTURE",
          `L1 table has ${l1Size} entries, ${needed} needed for a ${virtualSize}-byte disk`,
          {
            field: "l1_size",
            value: l1Size,
          },
        );
      }
      return new Qcow2Image(source, info, l1, virtualSize, snapshot, options);
    } catch (e) {
      throw isQcow2Error(e) ? (e as Qcow2Error).withFile(source.name) : e;
    }
  }

  /**
   * Reads `length` bytes of the virtual disk at `offset`. A range past the end
   * of the disk is clipped (the result is shorter), as a file read would be.
   */
  async read(offset: number, length: number): Promise<Uint8Array> {
    if (
      !Number.isSafeInteger(offset) ||
      offset < 0 ||
      !Number.isSafeInteger(length) ||
      length < 0
    ) {
      throw new Qcow2Error("OUT_OF_RANGE", `invalid read range ${offset}+${length}`, {
        file: this.source.name,
      });
    }
    if (length > MAX_READ_LENGTH) {
      throw new Qcow2Error(
        "LIMIT_EXCEEDED",
        `read of ${length} bytes exceeds ${MAX_READ_LENGTH}; use stream()`,
        {
          file: this.source.name,
        },
      );
    }
    const end = Math.min(offset + length, this.virtualSize);
    const out = new Uint8Array(Math.max(0, end - offset));
    try {
      await this.readInto(out, offset, end);
    } catch (e) {
      throw isQcow2Error(e) ? (e as Qcow2Error).withFile(this.source.name) : e;
    }
    return out;
  }

  private async readInto(out: Uint8Array, offset: number, end: number): Promise<void> {
    const cs = this.clusterSize;
    // A run of guest bytes stored contiguously on the host, read with one I/O.
    let runHost = 0;
    let runOut = 0;
    let runLen = 0;
    const flush = async () => {
      if (runLen === 0) return;
      out.set(await readPadded(this.source, runHost, runLen), runOut);
      runLen = 0;
    };
    let pos = offset;
    while (pos < end) {
      const clusterIndex = Math.floor(pos / cs);
      const inCluster = pos - clusterIndex * cs;
      const n = Math.min(cs - inCluster, end - pos);
      const d = await this.clusterDescriptor(clusterIndex);
      if (d.kind === "normal") {
        const host = d.hostOffset + inCluster;
        if (runLen > 0 && runHost + runLen === host) {
          runLen += n;
        } else {
          await flush();
          runHost = host;
          runOut = pos - offset;
          runLen = n;
        }
      } else {
        await flush();
        if (d.kind === "compressed") {
          const data = await this.decompressCluster(d.hostOffset, d.compressedLength);
          out.set(data.subarray(inCluster, inCluster + n), pos - offset);
        }
        // unallocated, zero-plain and zero-alloc read as zeros (no backing file).
      }
      pos += n;
    }
    await flush();
  }

  /**
   * How guest cluster `clusterIndex` is stored. Throws `INVALID_STRUCTURE`
   * where QEMU would refuse the read (misaligned L2 table or data offset).
   */
  async clusterDescriptor(clusterIndex: number): Promise<ClusterDescriptor> {
    const l1Index = Math.floor(clusterIndex / this.l2Entries);
    const l2Offset = Number(l1EntryOffset(this.l1.entry(l1Index)));
    if (l2Offset === 0) return { kind: "unallocated" };
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
    const l2 = await this.l2Table(l2Offset);
    const l2Index = clusterIndex - l1Index * this.l2Entries;
    const d = decodeL2Entry(l2.getBigUint64(l2Index * 8), this.clusterBits);
    if ((d.kind === "normal" || d.kind === "zero-alloc") && d.hostOffset % this.clusterSize !== 0) {
      throw new Qcow2Error(
        "INVALID_STRUCTURE",
        `data cluster offset ${d.hostOffset} (guest cluster ${clusterIndex}) is not cluster-aligned`,
        { field: "l2_entry", value: d.hostOffset, offset: l2Offset + l2Index * 8 },
      );
    }
    return d;
  }

  private async l2Table(offset: number): Promise<DataView> {
    let table = this.l2Cache.get(offset);
    if (table === undefined) {
      const bytes = await readPadded(this.source, offset, this.clusterSize);
      table = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      this.l2Cache.set(offset, table);
    }
    return table;
  }

  private async decompressCluster(
    hostOffset: number,
    compressedLength: number,
  ): Promise<Uint8Array> {
    if (this.lastCompressed?.hostOffset === hostOffset) return this.lastCompressed.data;
    const input = await readPadded(this.source, hostOffset, compressedLength);
    let data: Uint8Array;
    try {
      data = this.decompressor.inflateRaw(input, this.clusterSize);
    } catch (cause) {
      throw new Qcow2Error(
        "DECOMPRESSION_FAILED",
        `compressed cluster at offset ${hostOffset} (+${compressedLength}) does not inflate to ${this.clusterSize} bytes`,
        { offset: hostOffset, cause },
      );
    }
    this.lastCompressed = { hostOffset, data };
    return data;
  }

  /**
   * The virtual disk as a web `ReadableStream`, in chunks of `chunkSize`
   * bytes (default 1 MiB). Pull-based: it reads only as fast as it is consumed.
   */
  stream(
    options: { start?: number; end?: number; chunkSize?: number } = {},
  ): ReadableStream<Uint8Array> {
    const chunkSize = options.chunkSize ?? 1024 * 1024;
    const end = Math.min(options.end ?? this.virtualSize, this.virtualSize);
    let pos = options.start ?? 0;
    return new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          if (pos >= end) {
            controller.close();
            return;
          }
          const n = Math.min(chunkSize, end - pos);
          const chunk = await this.read(pos, n);
          pos += n;
          controller.enqueue(chunk);
        },
      },
      { highWaterMark: 1 },
    );
  }

  /** Closes the underlying source. */
  async close(): Promise<void> {
    await this.source.close?.();
  }
}

async function findSnapshot(
  source: ByteSource,
  info: Qcow2Info,
  wanted: string,
): Promise<Qcow2Snapshot> {
  const table = await readSnapshots(source, info);
  const byId = table.snapshots.find((s) => s.id === wanted);
  const found = byId ?? table.snapshots.find((s) => s.name === wanted);
  if (found === undefined) {
    throw new Qcow2Error(
      "SNAPSHOT_NOT_FOUND",
      `no snapshot with id or name ${JSON.stringify(wanted)}`,
      {
        field: "snapshot",
        value: wanted,
      },
    );
  }
  return found;
}
