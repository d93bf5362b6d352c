import { VolumesError } from "./errors.js";

/**
 * Any random-access guest disk: a `Qcow2Image` (as of any state), a raw
 * file source, a `Uint8Array` wrapped by {@link memoryDisk}. `read` returns
 * up to `length` bytes at `offset`.
 */
export interface GuestDisk {
  readonly size: number;
  read(offset: number, length: number): Promise<Uint8Array>;
}

/** The logical sector size every table is read with (QEMU's default for guest disks). */
export const SECTOR = 512;

/**
 * Most guest bytes one {@link readVolumes} call may read. A real disk
 * needs tens of KiB; this bound only stops hostile tables (thousands of
 * logical partitions, huge directories) from turning a look at the
 * tables into a scan of the disk.
 */
export const READ_BUDGET = 16 * 1024 * 1024;

/** Sectors kept after reading (4 MiB): every structure is read at most once. */
const CACHE_SECTORS = 8192;

/**
 * The thin I/O layer: sector-aligned, cached reads of a {@link GuestDisk}
 * with a byte budget, counting every byte it asks the disk for. A range that
 * is not wholly on the disk reads as `null`, as libblkid's buffers do.
 */
export class DiskReader {
  readonly size: number;
  /** Guest bytes requested from the disk so far. */
  bytesRead = 0;
  private readonly cache = new Map<number, Uint8Array>();

  constructor(
    private readonly disk: GuestDisk,
    private readonly budget: number = READ_BUDGET,
  ) {
    const size = (disk as { size?: unknown })?.size;
    if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0)
      throw new VolumesError("INVALID_DISK", `disk size ${String(size)} is not a byte count`, {
        field: "size",
      });
    if (typeof (disk as { read?: unknown }).read !== "function")
      throw new VolumesError("INVALID_DISK", "disk has no read(offset, length) method", {
        field: "read",
      });
    this.size = size;
  }

  /**
   * The `length` bytes at `offset`, or `null` when the range is not wholly
   * on the disk. Throws `IO` when the disk fails, `LIMIT_EXCEEDED` past the
   * budget.
   */
  async read(offset: number, length: number): Promise<Uint8Array | null> {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0)
      return null;
    if (length === 0 || offset + length > this.size) return null;
    const first = Math.floor(offset / SECTOR);
    const last = Math.floor((offset + length - 1) / SECTOR);
    const sectors: Uint8Array[] = [];
    for (let s = first; s <= last; ) {
      const cached = this.cache.get(s);
      if (cached !== undefined) {
        sectors.push(cached);
        s++;
        continue;
      }
      let end = s;
      while (end < last && !this.cache.has(end + 1)) end++;
      sectors.push(...(await this.fetch(s, end - s + 1)));
      s = end + 1;
    }
    const out = new Uint8Array(length);
    for (const [i, sector] of sectors.entries()) {
      const base = (first + i) * SECTOR;
      const from = Math.max(offset, base);
      const to = Math.min(offset + length, base + SECTOR);
      out.set(sector.subarray(from - base, to - base), from - offset);
    }
    return out;
  }

  private async fetch(firstSector: number, count: number): Promise<Uint8Array[]> {
    const start = firstSector * SECTOR;
    const length = Math.min(count * SECTOR, this.size - start);
    if (this.bytesRead + length > this.budget)
      throw new VolumesError(
        "LIMIT_EXCEEDED",
        `reading ${length} more bytes at guest offset ${start} would exceed the read budget of ${this.budget} bytes`,
        { offset: start },
      );
    this.bytesRead += length;
    let bytes: Uint8Array;
    try {
      bytes = await this.disk.read(start, length);
    } catch (cause) {
      const reason = cause instanceof Error ? cause.message : String(cause);
      throw new VolumesError(
        "IO",
        `read of ${length} bytes at guest offset ${start} failed: ${reason}`,
        {
          offset: start,
          cause,
        },
      );
    }
    if (!(bytes instanceof Uint8Array))
      throw new VolumesError("IO", `read at guest offset ${start} returned no bytes`, {
        offset: start,
      });
    if (this.cache.size + count > CACHE_SECTORS) this.cache.clear();
    // One copy per run (the disk may reuse its buffer); a short read (a source smaller than it
    // claims) leaves zeros, as past-EOF reads do in QEMU.
    const run = new Uint8Array(count * SECTOR);
    run.set(bytes.subarray(0, Math.min(bytes.length, run.length)));
    const sectors: Uint8Array[] = [];
    for (let i = 0; i < count; i++) {
      const sector = run.subarray(i * SECTOR, (i + 1) * SECTOR);
      if (count <= CACHE_SECTORS) this.cache.set(firstSector + i, sector);
      sectors.push(sector);
    }
    return sectors;
  }
}

/**
 * A window `[start, start + size)` of the disk: a partition, or the whole
 * disk. Offsets are relative to `start`; a range not wholly inside reads as
 * `null` — the probes see exactly what `blkid -O start -S size` sees.
 */
export class Region {
  constructor(
    readonly reader: DiskReader,
    /** Guest byte offset of the window. */
    readonly start: number,
    /** Bytes in the window (clipped to the disk). */
    readonly size: number,
  ) {}

  read(offset: number, length: number): Promise<Uint8Array | null> {
    if (
      !Number.isSafeInteger(offset) ||
      !Number.isSafeInteger(length) ||
      offset < 0 ||
      length <= 0 ||
      offset + length > this.size
    )
      return Promise.resolve(null);
    return this.reader.read(this.start + offset, length);
  }

  /** A bigint offset (from a 64-bit field) as {@link read}; past 2^53 it reads as `null`. */
  readAt(offset: bigint, length: number): Promise<Uint8Array | null> {
    if (offset < 0n || offset > BigInt(Number.MAX_SAFE_INTEGER)) return Promise.resolve(null);
    return this.read(Number(offset), length);
  }
}

/**
 * A {@link GuestDisk} over bytes in memory (tests, browsers).
 *
 * @example
 * ```ts
 * const layout = await readVolumes(memoryDisk(new Uint8Array(await file.arrayBuffer())));
 * ```
 */
export function memoryDisk(bytes: Uint8Array): GuestDisk {
  return {
    size: bytes.length,
    read: async (offset, length) => bytes.slice(offset, offset + length),
  };
}
