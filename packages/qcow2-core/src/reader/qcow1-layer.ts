import { CRYPT_SECTOR, type SectorCipher } from "../crypto/cipher.js";
import { Qcow2Error } from "../errors.js";
import { QCOW1_OFLAG_COMPRESSED } from "../format/constants.js";
import { decodeQcow1Header } from "../format/qcow1-header.js";
import type { Qcow2Info } from "../inspect.js";
import { LIMITS } from "../limits.js";

/** QEMU's BDRV_MAX_LENGTH (INT64_MAX aligned down to 1 GiB): reads ending beyond it fail (EIO). */
const BDRV_MAX_LENGTH = (1n << 63n) - (1n << 30n);

import { type ByteSource, readPadded } from "../source/byte-source.js";
import { sourceIdentity } from "../source/identity.js";
import { type Decompressor, inflateWith } from "./decompress.js";
import {
  type GuestRange,
  type Layer,
  type LayerExtent,
  type LayerIdentity,
  type LayerStorage,
  pushRange,
  wholeSectors,
} from "./layer.js";
import { LruCache } from "./lru-cache.js";

type Qcow1Cluster =
  | { kind: "unallocated" }
  | { kind: "normal"; hostOffset: number }
  | { kind: "compressed"; hostOffset: number; compressedLength: number };

/**
 * A QCOW version 1 image (QEMU block/qcow.c): L1 → L2 → cluster, bit 63 of an
 * L2 entry marks a compressed cluster whose byte length sits above the offset.
 */
export class Qcow1Layer implements Layer {
  readonly format = "qcow" as const;
  readonly name: string;
  readonly virtualSize: number;
  private readonly clusterSize: number;
  private readonly l2Size: number;
  private readonly l2Cache = new LruCache<number, DataView>(LIMITS.l2CacheEntries);
  private lastCompressed: { hostOffset: number; data: Uint8Array } | null = null;
  readonly identity: LayerIdentity;
  readonly granularity: number;

  private constructor(
    readonly source: ByteSource,
    private readonly clusterBits: number,
    l2Bits: number,
    private readonly l1: DataView,
    private readonly l1Size: number,
    virtualSize: number,
    private readonly deflate: Decompressor,
    private readonly cipher: SectorCipher | null,
  ) {
    this.name = source.name;
    this.clusterSize = 2 ** clusterBits;
    this.l2Size = 2 ** l2Bits;
    this.virtualSize = virtualSize;
    this.identity = { file: sourceIdentity(source), view: "qcow" };
    this.granularity = this.clusterSize;
  }

  static async open(
    source: ByteSource,
    info: Qcow2Info,
    deflate: Decompressor,
    cipher: SectorCipher | null = null,
  ): Promise<Qcow1Layer> {
    const header = decodeQcow1Header(await readPadded(source, 0, 48), []);
    // QEMU's qcow_open bounds: 512 B–64 KiB clusters, L2 tables of 512 B–64 KiB.
    if (header.clusterBits < 9 || header.clusterBits > 16) {
      throw new Qcow2Error(
        "CLUSTER_BITS_OUT_OF_RANGE",
        `QCOW1 cluster_bits ${header.clusterBits} is outside 9–16`,
        {
          field: "cluster_bits",
          value: header.clusterBits,
        },
      );
    }
    if (header.l2Bits < 6 || header.l2Bits > 13) {
      throw new Qcow2Error("INVALID_STRUCTURE", `QCOW1 l2_bits ${header.l2Bits} is outside 6–13`, {
        field: "l2_bits",
        value: header.l2Bits,
      });
    }
    if (!Number.isFinite(info.virtualSize) || header.l1Size > LIMITS.maxL1Entries) {
      throw new Qcow2Error(
        "L1_TOO_LARGE",
        `QCOW1 image of ${info.virtualSize} bytes needs too large an L1 table`,
        {
          field: "size",
          value: info.virtualSize,
        },
      );
    }
    // An L1 table past end of file (however far: an offset above 2^53 is
    // `NaN` here) reads as zeros in QEMU: the whole disk is unallocated.
    const l1 = Number.isFinite(header.l1TableOffset)
      ? await readPadded(source, header.l1TableOffset, header.l1Size * 8)
      : new Uint8Array(header.l1Size * 8);
    return new Qcow1Layer(
      source,
      header.clusterBits,
      header.l2Bits,
      new DataView(l1.buffer, l1.byteOffset, l1.byteLength),
      header.l1Size,
      wholeSectors(info.virtualSize),
      deflate,
      cipher,
    );
  }

  private async cluster(clusterIndex: number): Promise<Qcow1Cluster> {
    const l1Index = Math.floor(clusterIndex / this.l2Size);
    if (l1Index >= this.l1Size) return { kind: "unallocated" };
    const l2Offset = this.l1.getBigUint64(l1Index * 8);
    if (l2Offset === 0n || l2Offset > BigInt(Number.MAX_SAFE_INTEGER))
      return { kind: "unallocated" };
    let l2 = this.l2Cache.get(Number(l2Offset));
    if (l2 === undefined) {
      const bytes = await readPadded(this.source, Number(l2Offset), this.l2Size * 8);
      l2 = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      this.l2Cache.set(Number(l2Offset), l2);
    }
    const entry = l2.getBigUint64((clusterIndex - l1Index * this.l2Size) * 8);
    if (entry === 0n) return { kind: "unallocated" };
    if ((entry & QCOW1_OFLAG_COMPRESSED) !== 0n) {
      const shift = BigInt(63 - this.clusterBits);
      return {
        kind: "compressed",
        hostOffset: Number(entry & ((1n << shift) - 1n)),
        compressedLength: Number((entry >> shift) & BigInt(this.clusterSize - 1)),
      };
    }
    // Past end of file QEMU reads zeros, however far (a cluster offset of 2^53
    // or more is one); only the block layer's own limit fails the read.
    if (entry + BigInt(this.clusterSize) > BDRV_MAX_LENGTH) {
      throw new Qcow2Error(
        "IO",
        `QCOW1 cluster offset 0x${entry.toString(16)} is beyond what QEMU can read (Input/output error)`,
        { field: "l2_entry", value: entry },
      );
    }
    return { kind: "normal", hostOffset: Number(entry) };
  }

  async readOwn(out: Uint8Array, offset: number): Promise<GuestRange[]> {
    const holes: GuestRange[] = [];
    const cs = this.clusterSize;
    const end = offset + out.length;
    for (let pos = offset; pos < end; ) {
      const clusterIndex = Math.floor(pos / cs);
      const inCluster = pos - clusterIndex * cs;
      const n = Math.min(cs - inCluster, end - pos);
      const c = await this.cluster(clusterIndex);
      if (c.kind === "unallocated") pushRange(holes, pos, n);
      else if (c.kind === "normal")
        out.set(await this.readData(c.hostOffset + inCluster, n, pos), pos - offset);
      else
        out.set(
          (await this.decompress(c.hostOffset, c.compressedLength)).subarray(
            inCluster,
            inCluster + n,
          ),
          pos - offset,
        );
      pos += n;
    }
    return holes;
  }

  /** Host bytes, decrypted (legacy AES, IV from the guest sector) when a cipher is set. */
  private async readData(host: number, length: number, guest: number): Promise<Uint8Array> {
    if (this.cipher === null) return readPadded(this.source, host, length);
    const start = Math.floor(host / CRYPT_SECTOR) * CRYPT_SECTOR;
    const end = Math.ceil((host + length) / CRYPT_SECTOR) * CRYPT_SECTOR;
    const bytes = (await readPadded(this.source, start, end - start)).slice();
    this.cipher.decrypt(bytes, this.cipher.ivFrom === "host" ? start : guest - (host - start));
    return bytes.subarray(host - start, host - start + length);
  }

  async status(offset: number, maxLength: number): Promise<LayerExtent> {
    const cs = this.clusterSize;
    const clusterIndex = Math.floor(offset / cs);
    const inCluster = offset - clusterIndex * cs;
    const length = Math.max(1, Math.min(cs - inCluster, maxLength));
    const c = await this.cluster(clusterIndex);
    if (c.kind === "unallocated") return { length, data: false, zero: false };
    if (c.kind === "compressed") return { length, data: true, zero: false, compressed: true };
    // QEMU's qcow driver reports encrypted data without an offset.
    if (this.cipher !== null) return { length, data: true, zero: false };
    return { length, data: true, zero: false, offset: c.hostOffset + inCluster, file: this.name };
  }

  async storage(offset: number, maxLength: number): Promise<LayerStorage> {
    const cs = this.clusterSize;
    const tableSpan = this.l2Size * cs;
    const limit = Math.min(offset + maxLength, this.virtualSize);
    // Whole L2 tables missing from the L1 table are unallocated in one step (a vast sparse disk).
    let l1Index = Math.floor(offset / tableSpan);
    if (this.l2OffsetAt(l1Index) === 0) {
      while ((l1Index + 1) * tableSpan < limit && this.l2OffsetAt(l1Index + 1) === 0) l1Index++;
      return {
        length: Math.max(1, Math.min(limit, (l1Index + 1) * tableSpan) - offset),
        kind: "unallocated",
      };
    }
    const tableEnd = Math.min(limit, (l1Index + 1) * tableSpan);
    let clusterIndex = Math.floor(offset / cs);
    const inCluster = offset - clusterIndex * cs;
    const first = await this.cluster(clusterIndex);
    const out: LayerStorage = { length: 0, kind: first.kind === "normal" ? "data" : first.kind };
    if (first.kind === "compressed") {
      out.length = Math.min(cs - inCluster, limit - offset);
      out.source = this.source;
      out.offset = first.hostOffset;
      out.compressedLength = first.compressedLength;
      out.inCluster = inCluster;
    } else {
      let end = (clusterIndex + 1) * cs;
      let expected = first.kind === "normal" ? first.hostOffset + cs : 0;
      while (end < tableEnd) {
        const next = await this.cluster(++clusterIndex);
        if (next.kind !== first.kind) break;
        if (next.kind === "normal") {
          if (next.hostOffset !== expected) break;
          expected += cs;
        }
        end += cs;
      }
      out.length = Math.max(1, Math.min(end, limit) - offset);
      if (first.kind === "normal") {
        out.source = this.source;
        out.offset = first.hostOffset + inCluster;
      }
    }
    if (this.cipher !== null && out.kind !== "unallocated") out.encrypted = true;
    return out;
  }

  private l2OffsetAt(l1Index: number): number {
    if (l1Index >= this.l1Size) return 0;
    const l2Offset = this.l1.getBigUint64(l1Index * 8);
    return l2Offset > BigInt(Number.MAX_SAFE_INTEGER) ? 0 : Number(l2Offset);
  }

  private async decompress(hostOffset: number, compressedLength: number): Promise<Uint8Array> {
    if (this.lastCompressed?.hostOffset === hostOffset) return this.lastCompressed.data;
    const input = await readPadded(this.source, hostOffset, compressedLength);
    let data: Uint8Array;
    try {
      data = await inflateWith(this.deflate, input, this.clusterSize);
    } catch (cause) {
      throw new Qcow2Error(
        "DECOMPRESSION_FAILED",
        `QCOW1 compressed cluster at offset ${hostOffset} (+${compressedLength}) does not inflate to ${this.clusterSize} bytes`,
        {
          offset: hostOffset,
          cause,
        },
      );
    }
    if (data.length !== this.clusterSize) {
      throw new Qcow2Error(
        "DECOMPRESSION_FAILED",
        `QCOW1 compressed cluster at offset ${hostOffset} inflated to ${data.length} bytes, not ${this.clusterSize}`,
        { offset: hostOffset },
      );
    }
    this.lastCompressed = { hostOffset, data };
    return data;
  }

  async close(): Promise<void> {
    await this.source.close?.();
  }
}
