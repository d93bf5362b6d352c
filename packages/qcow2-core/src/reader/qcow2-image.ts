import type { SectorCipher } from "../crypto/cipher.js";
import { isQcow2Error, Qcow2Error } from "../errors.js";
import { inspect, type Qcow2Info } from "../inspect.js";
import { qemuBitmapRefusal } from "../qemu/bitmap-load.js";
import { type Qcow2Snapshot, readSnapshots, type SnapshotTable } from "../snapshots.js";
import type { ByteSource } from "../source/byte-source.js";
import type { BackingResolver, DataFileResolver, LayerFormat } from "./backing.js";
import { type ChainLink, walkBackingChain } from "./chain.js";
import { type ChunkOptions, type DiskChunk, diskChunks } from "./chunks.js";
import { type Decompressor, fflateDecompressor, type ZstdDecompressor } from "./decompress.js";
import type { Layer } from "./layer.js";
import { type MapExtent, mapLayers, mapLayersEach, mapLayersIter } from "./map.js";
import { assertReadable } from "./open-checks.js";
import { Qcow1Layer } from "./qcow1-layer.js";
import { hasExternalDataFile, Qcow2Layer } from "./qcow2-layer.js";
import { RawLayer } from "./raw-layer.js";
import { readChain } from "./read-chain.js";
import { zstdDecompressor } from "./zstd-wasm.js";

/** Options for {@link Qcow2Image.open}. */
export interface OpenImageOptions {
  /** Raw-deflate implementation; defaults to pure-JS fflate (the Node entry passes `node:zlib`). */
  decompressor?: Decompressor;
  /** zstd implementation; defaults to pure-JS fzstd. */
  zstd?: ZstdDecompressor;
  /** View the disk as of this internal snapshot of the top image (matched by id first, then by name). */
  snapshot?: string;
  /** Read the top image alone: what its backing file would supply reads as zeros. */
  layerOnly?: boolean;
  /** Opens backing files; without one, an overlay fails with `BACKING_NOT_FOUND` (unless `layerOnly`). */
  resolveBacking?: BackingResolver;
  /** Opens external data files. */
  resolveDataFile?: DataFileResolver;
  /** Deepest backing chain accepted (default {@link LIMITS.maxBackingDepth}). */
  maxBackingDepth?: number;
  /** L2 tables kept in memory per layer (default {@link LIMITS.l2CacheEntries}). */
  l2CacheEntries?: number;
  /**
   * Unlocks an encrypted image (each encrypted layer is asked): returns its
   * sector cipher or throws `BAD_PASSPHRASE`. Node: `openImage(path, { passphrase })`.
   */
  unlock?: (source: ByteSource, info: Qcow2Info) => Promise<SectorCipher>;
  /**
   * What `inspect` and `readSnapshots` answered for this source, when the
   * caller has them: not read again (an opener of many states of one image
   * would otherwise decode its whole snapshot table per state).
   */
  known?: { info: Qcow2Info; snapshots: SnapshotTable };
}

/** Largest single `read()` the API serves; larger requests should stream. */
export const MAX_READ_LENGTH = 256 * 1024 * 1024;

/**
 * An open image and its backing chain: the guest-visible virtual disk,
 * read-only, with bounded caches. Reads equal what QEMU shows the guest.
 *
 * @example
 * ```ts
 * const image = await Qcow2Image.open(source, { resolveBacking });
 * const mbr = await image.read(0, 512);
 * for await (const chunk of image.stream()) hash.update(chunk);
 * ```
 */
export class Qcow2Image {
  private constructor(
    /** The top image's source. */
    readonly source: ByteSource,
    /** Header facts of the top image. */
    readonly info: Qcow2Info,
    /** The chain, top image first. */
    readonly layers: readonly Layer[],
    /** The snapshot viewed, or `null` for the active disk. */
    readonly snapshot: Qcow2Snapshot | null,
  ) {}

  /** Size of the virtual disk in bytes (the top image's, or the snapshot's). */
  get virtualSize(): number {
    return (this.layers[0] as Layer).virtualSize;
  }

  /**
   * {@link virtualSize} under the name random-access disks use: with `read`,
   * it makes an image a `{ size, read(offset, length) }` guest disk, as
   * `@x/volumes` reads.
   */
  get size(): number {
    return this.virtualSize;
  }

  /**
   * Opens `source` and, unless `layerOnly`, its backing chain. Throws a
   * {@link Qcow2Error} for anything it cannot decode faithfully.
   */
  static async open(source: ByteSource, options: OpenImageOptions = {}): Promise<Qcow2Image> {
    const opened: Layer[] = [];
    try {
      const info = options.known?.info ?? (await inspect(source));
      const table = await assertOpenable(source, info, options);
      const snapshot =
        options.snapshot === undefined ? null : findSnapshot(table, options.snapshot);
      opened.push(
        await openLayer(source, info, info.version === 1 ? "qcow" : "qcow2", snapshot, options),
      );
      if (!options.layerOnly) await openChain(info, source.name, opened, options);
      return new Qcow2Image(source, info, opened, snapshot);
    } catch (e) {
      // The caller owns `source`; close only what was opened here.
      for (const layer of opened.slice(1)) await layer.close().catch(() => undefined);
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
    await this.fill(out, offset);
    return out;
  }

  /**
   * {@link read} into a buffer of the caller's: fills `target` from guest
   * `offset` and answers how many bytes that was (fewer at the end of the
   * disk). Reusing one buffer spares an allocation per read.
   */
  async readInto(target: Uint8Array, offset: number): Promise<number> {
    if (!Number.isSafeInteger(offset) || offset < 0) {
      throw new Qcow2Error("OUT_OF_RANGE", `invalid read offset ${offset}`, {
        file: this.source.name,
      });
    }
    if (target.length > MAX_READ_LENGTH) {
      throw new Qcow2Error(
        "LIMIT_EXCEEDED",
        `read of ${target.length} bytes exceeds ${MAX_READ_LENGTH}; use stream()`,
        { file: this.source.name },
      );
    }
    const n = Math.max(0, Math.min(offset + target.length, this.virtualSize) - offset);
    // The layers write every byte (the holes of the last one as zeros): no
    // zero-fill first, which would cost a pass over every buffer.
    await this.fill(target.subarray(0, n), offset);
    return n;
  }

  private async fill(out: Uint8Array, offset: number): Promise<void> {
    try {
      await readChain(this.layers, 0, out, offset);
    } catch (e) {
      throw isQcow2Error(e) ? (e as Qcow2Error).withFile(this.source.name) : e;
    }
  }

  /**
   * The guest→host extents, as `qemu-img map --output=json` reports them:
   * same extents, merging, depth, present/zero/data flags and offsets.
   */
  async map(): Promise<MapExtent[]> {
    try {
      return await mapLayers(this.layers, this.virtualSize);
    } catch (e) {
      throw isQcow2Error(e) ? (e as Qcow2Error).withFile(this.source.name) : e;
    }
  }

  /** {@link map} with a callback per extent, as found: constant memory, the fastest way to map a large disk. */
  async mapEach(onExtent: (e: MapExtent) => void | Promise<void>): Promise<void> {
    try {
      await mapLayersEach(this.layers, this.virtualSize, onExtent);
    } catch (e) {
      throw isQcow2Error(e) ? (e as Qcow2Error).withFile(this.source.name) : e;
    }
  }

  /** {@link map}, yielding extents as they are found: constant memory on any disk. */
  async *mapExtents(): AsyncGenerator<MapExtent> {
    try {
      yield* mapLayersIter(this.layers, this.virtualSize);
    } catch (e) {
      throw isQcow2Error(e) ? (e as Qcow2Error).withFile(this.source.name) : e;
    }
  }

  /**
   * The virtual disk in order, as {@link DiskChunk}s: reads run ahead of the
   * consumer (`readAhead`, default 2), and runs the map reports as zeros, at
   * least a chunk long, arrive as `bytes: null` without being read. The
   * fastest way to hash or copy a whole disk.
   *
   * @example
   * ```ts
   * for await (const { offset, length, bytes } of image.chunks()) {
   *   if (bytes === null) out.skip(offset, length); // reads as zeros
   *   else out.write(offset, bytes);
   * }
   * ```
   */
  chunks(options: ChunkOptions = {}): AsyncGenerator<DiskChunk> {
    return diskChunks(this, options);
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

  /** Closes every file of the chain, the top image's source included. */
  async close(): Promise<void> {
    for (const layer of this.layers) await layer.close();
  }
}

async function openLayer(
  source: ByteSource,
  info: Qcow2Info | null,
  format: LayerFormat,
  snapshot: Qcow2Snapshot | null,
  options: OpenImageOptions,
): Promise<Layer> {
  if (format === "raw") return new RawLayer(source);
  const facts = info ?? (await inspect(source));
  await assertOpenable(source, facts, options);
  const deflate = options.decompressor ?? fflateDecompressor;
  // Unlocked before anything is read, so a wrong passphrase fails the open.
  const cipher =
    facts.encryptionMethod !== 0 && options.unlock ? await options.unlock(source, facts) : null;
  if (format === "qcow") {
    if (facts.version !== 1)
      throw new Qcow2Error("BACKING_UNREADABLE", "image is not in qcow format");
    return Qcow1Layer.open(source, facts, deflate, cipher);
  }
  if (facts.version === 1)
    throw new Qcow2Error("BACKING_UNREADABLE", "image is not in qcow2 format");
  let dataSource: ByteSource | null = null;
  if (hasExternalDataFile(facts)) {
    const name = facts.externalDataFile;
    if (name === null) {
      throw new Qcow2Error(
        "DATA_FILE_NOT_FOUND",
        "image needs an external data file but names none",
        {
          field: "incompatible_features",
        },
      );
    }
    if (options.resolveDataFile === undefined) {
      throw new Qcow2Error(
        "DATA_FILE_NOT_FOUND",
        `no resolver to open external data file ${JSON.stringify(name)}`,
        {
          field: "data_file",
          value: name,
        },
      );
    }
    dataSource = await options.resolveDataFile(name, source.name);
  }
  return Qcow2Layer.open(source, facts, {
    snapshot,
    dataSource,
    deflate,
    zstd: options.zstd ?? zstdDecompressor,
    cipher,
    ...(options.l2CacheEntries === undefined ? {} : { l2CacheEntries: options.l2CacheEntries }),
  });
}

/** Resolves and opens the backing chain below `top`, appending each layer to `opened`. */
async function openChain(
  top: Qcow2Info,
  topName: string,
  opened: Layer[],
  options: OpenImageOptions,
): Promise<void> {
  const walk = await walkBackingChain(
    top,
    topName,
    options.resolveBacking,
    options.maxBackingDepth,
  );
  let i = 0;
  try {
    for (; i < walk.links.length; i++) {
      const link = walk.links[i] as ChainLink;
      opened.push(await openLayer(link.source, link.info, link.format, null, options));
    }
  } catch (e) {
    // Layers not yet opened still hold their sources.
    for (const link of walk.links.slice(i)) await link.source.close?.();
    const reason = e instanceof Error ? e.message : String(e);
    const link = walk.links[i] as ChainLink;
    throw new Qcow2Error(
      "BACKING_UNREADABLE",
      `backing file ${JSON.stringify(link.name)} cannot be read: ${reason}`,
      {
        field: "backing_file",
        value: link.name,
        cause: e,
      },
    );
  }
  if (walk.outcome.kind !== "complete") throw walk.outcome.error;
}

/**
 * QEMU opens an image only when its header, tables and snapshot table pass
 * qcow2_do_open; the table read for that is returned for snapshot lookups.
 */
async function assertOpenable(
  source: ByteSource,
  info: Qcow2Info,
  options: OpenImageOptions,
): Promise<SnapshotTable> {
  // Only for the image `known` describes, never for its backing files.
  const known = options.known?.info === info ? options.known.snapshots : undefined;
  const snapshots = known ?? (await readSnapshots(source, info));
  assertReadable(info, { decrypting: options.unlock !== undefined, snapshots });
  const bitmaps = await qemuBitmapRefusal(source, info);
  if (bitmaps !== null)
    throw new Qcow2Error(bitmaps.code, bitmaps.message, {
      field: bitmaps.field,
      value: bitmaps.value,
    });
  return snapshots;
}

function findSnapshot(table: SnapshotTable, wanted: string): Qcow2Snapshot {
  const found =
    table.snapshots.find((s) => s.id === wanted) ?? table.snapshots.find((s) => s.name === wanted);
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
