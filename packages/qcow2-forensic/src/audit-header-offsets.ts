import { exactField, type Qcow2Info } from "@x/qcow2-core";
import type { CitedEntry } from "./anomaly.js";

/** One header-level pointer: where the field sits, what it points at and how far. */
interface HeaderPointer {
  field: string;
  /** Host offset of the field itself (in the header or a header extension). */
  at: number;
  width: number;
  structure: string;
  offset: bigint;
  length: bigint;
  /** The target must be cluster-aligned (qcow2.txt). */
  aligned: boolean;
}

const hexDec = (v: bigint) => `0x${v.toString(16)} (${v})`;

/** Offset of the data of the first header extension named `name`, or -1. */
function extensionData(info: Qcow2Info, name: string): number {
  const ext = info.extensions.find((e) => e.name === name);
  return ext === undefined ? -1 : ext.offset + 8;
}

function pointers(info: Qcow2Info, cs: number): HeaderPointer[] {
  const exact = (value: number, field: string) => exactField(value, field, info.outOfRange);
  const out: HeaderPointer[] = [
    {
      field: "l1_table_offset",
      at: 40,
      width: 8,
      structure: "QCOW2 header",
      offset: exact(info.l1TableOffset, "l1_table_offset"),
      length: BigInt(info.l1Size) * 8n,
      aligned: true,
    },
    {
      field: "refcount_table_offset",
      at: 48,
      width: 8,
      structure: "QCOW2 header",
      offset: exact(info.refcountTableOffset, "refcount_table_offset"),
      length: BigInt(info.refcountTableClusters) * BigInt(cs),
      aligned: true,
    },
  ];
  if (info.snapshotCount > 0)
    out.push({
      field: "snapshots_offset",
      at: 64,
      width: 8,
      structure: "QCOW2 header",
      offset: exact(info.snapshotsOffset, "snapshots_offset"),
      length: BigInt(info.snapshotCount) * 40n,
      aligned: true,
    });
  if (info.backingFile !== null)
    out.push({
      field: "backing_file_offset",
      at: 8,
      width: 8,
      structure: "QCOW2 header",
      offset: exact(info.backingFile.offset, "backing_file_offset"),
      length: BigInt(info.backingFile.size),
      aligned: false,
    });
  const bitmaps = extensionData(info, "bitmaps");
  if (info.bitmaps !== null && bitmaps >= 0)
    out.push({
      field: "bitmap_directory_offset",
      at: bitmaps + 16,
      width: 8,
      structure: "QCOW2 bitmaps extension",
      offset: exact(info.bitmaps.bitmapDirectoryOffset, "bitmap_directory_offset"),
      length: exact(info.bitmaps.bitmapDirectorySize, "bitmap_directory_size"),
      aligned: true,
    });
  const fde = extensionData(info, "full-disk-encryption");
  if (info.fullDiskEncryption !== null && fde >= 0)
    out.push({
      field: "crypto_header.offset",
      at: fde,
      width: 8,
      structure: "QCOW2 full disk encryption extension",
      offset: exact(info.fullDiskEncryption.offset, "crypto_header.offset"),
      length: exact(info.fullDiskEncryption.length, "crypto_header.length"),
      aligned: true,
    });
  return out;
}

/**
 * Header-level offsets (L1 table, refcount table, snapshot table, backing
 * file name, bitmap directory, encryption header) that are not
 * cluster-aligned, or that point a cluster or more past end of file — QEMU's
 * own tolerance for the last cluster. Each cites the header field and gives
 * the value exactly, in hex and decimal, however large.
 */
export function headerOffsetEntries(
  info: Qcow2Info,
  fileSize: number,
): { misaligned: CitedEntry[]; beyondEof: CitedEntry[] } {
  const misaligned: CitedEntry[] = [];
  const beyondEof: CitedEntry[] = [];
  const cs = info.clusterSize;
  if (info.version === 1 || cs === null) return { misaligned, beyondEof };
  for (const p of pointers(info, cs)) {
    const cite = (message: string): CitedEntry => ({
      hostOffset: p.at,
      entryOffset: p.at,
      field: p.field,
      value: hexDec(p.offset),
      structure: p.structure,
      width: p.width,
      message,
    });
    if (p.aligned && p.offset % BigInt(cs) !== 0n)
      misaligned.push(
        cite(`${p.field} = ${hexDec(p.offset)} is not a multiple of the cluster size (${cs})`),
      );
    // Tables: QEMU's tolerance (a partial last cluster); a name: any byte past the end.
    const slack = p.aligned ? BigInt(cs) : 1n;
    if (p.length > 0n && p.offset + p.length - BigInt(fileSize) >= slack)
      beyondEof.push(
        cite(
          `${p.field} = ${hexDec(p.offset)} (+${p.length} bytes) points past the end of the ${fileSize}-byte file`,
        ),
      );
  }
  return { misaligned, beyondEof };
}
