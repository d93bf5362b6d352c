import { Qcow2Error } from "../errors.js";
import {
  compressedDescriptor,
  hasZeroFlag,
  isCompressed,
  isCopied,
  nextNonZero,
  offsetField,
} from "../format/entry-words.js";
import { SUBCLUSTERS_PER_CLUSTER } from "../format/l2-entry.js";

/** What an L2 table scan needs to know about the image. */
export interface L2Geometry {
  clusterSize: number;
  clusterBits: number;
  /** Entries per L2 table. */
  l2Entries: number;
  extendedL2: boolean;
  /** In an external data file offset 0 is a valid cluster when COPIED is set (QEMU). */
  dataFile: boolean;
}

/** One run of an L2 table: a stretch of one kind, host contiguous for data. */
export interface L2Run {
  kind: "unallocated" | "zero" | "data" | "compressed";
  length: number;
  /** data: host offset of the first byte; compressed: of the compressed cluster. */
  offset?: number;
  compressedLength?: number;
  inCluster?: number;
}

/** Kinds of a standard entry ({@link standardKind}); 3 is "compressed" (KIND_NAMES), decided per cluster before. */
export const UNALLOCATED = 0;
export const ZERO = 1;
export const DATA = 2;
const INVALID = 4;
const KIND_NAMES = ["unallocated", "zero", "data", "compressed"] as const;

/** The table being scanned: its bytes, where it is, which guest range it maps. */
export interface L2Table {
  view: DataView;
  /** Host offset of the table (for errors). */
  offset: number;
  /** Guest offset mapped by entry 0. */
  guestStart: number;
  /** The same bytes as 32-bit words, when aligned: empty entries are then skipped in bulk. */
  words?: Int32Array;
}

/**
 * The run of table `t` that starts at guest offset `from` and ends at the
 * first change of kind (or of host contiguity), at a compressed cluster's
 * end, or at `limit` (≤ the table's span). An entry the reader would refuse
 * (misaligned offset, invalid subcluster bitmap, offset past 2^53) throws
 * when the run starts there, and otherwise ends the run before it.
 */
export function scanL2(t: L2Table, g: L2Geometry, from: number, limit: number): L2Run {
  return g.extendedL2 ? scanExtended(t, g, from, limit) : scanStandard(t, g, from, limit);
}

function scanStandard(t: L2Table, g: L2Geometry, from: number, limit: number): L2Run {
  const cs = g.clusterSize;
  const view = t.view;
  let j = Math.floor((from - t.guestStart) / cs);
  const inCluster = from - t.guestStart - j * cs;
  let at = j * 8;
  let hi = view.getUint32(at);
  let lo = view.getUint32(at + 4);
  if (isCompressed(hi)) return compressedRun(t, g, j, hi, lo, inCluster, from, limit);
  let host = 0;
  const kind = standardKind(hi, lo, g);
  if (kind !== UNALLOCATED) {
    host = offsetField(hi, lo);
    checkHost(t, g, j, host, kind === DATA || host !== 0);
  }
  let end = t.guestStart + (j + 1) * cs;
  let expected = host + cs;
  if (kind === UNALLOCATED && t.words !== undefined && end < limit) {
    // Empty entries (both words zero) continue an unallocated run: skipped eight words at a time.
    const entries = Math.min(g.l2Entries, Math.ceil((limit - t.guestStart) / cs));
    const k = nextNonZero(t.words, j + 1, entries, 2);
    end = t.guestStart + k * cs;
    j = k - 1;
  }
  while (end < limit) {
    j++;
    at = j * 8;
    hi = view.getUint32(at);
    lo = view.getUint32(at + 4);
    if (isCompressed(hi) || standardKind(hi, lo, g) !== kind) break;
    if (kind === DATA) {
      const h = offsetField(hi, lo);
      if (h !== expected || !hostUsable(h, cs)) break;
      expected += cs;
    } else if (kind === ZERO && !hostUsable(offsetField(hi, lo), cs)) {
      break;
    }
    end += cs;
  }
  return run(kind, Math.min(end, limit) - from, kind === DATA ? host + inCluster : undefined);
}

/** The kind of a standard, uncompressed L2 entry, as QEMU's qcow2_get_cluster_type decides it. */
export function standardKind(hi: number, lo: number, g: L2Geometry): number {
  if (hasZeroFlag(lo)) return ZERO;
  if (offsetField(hi, lo) === 0 && !(g.dataFile && isCopied(hi))) return UNALLOCATED;
  return DATA;
}

function scanExtended(t: L2Table, g: L2Geometry, from: number, limit: number): L2Run {
  const cs = g.clusterSize;
  const sc = cs / SUBCLUSTERS_PER_CLUSTER;
  const view = t.view;
  let j = Math.floor((from - t.guestStart) / cs);
  const inCluster = from - t.guestStart - j * cs;
  let hi = view.getUint32(j * 16);
  let lo = view.getUint32(j * 16 + 4);
  if (isCompressed(hi)) return compressedRun(t, g, j, hi, lo, inCluster, from, limit);
  let i = Math.floor(inCluster / sc);
  let cluster = decodeExtended(view, j, g);
  let kind = subKind(cluster, i);
  if (kind === INVALID) throw invalidBitmap(t, g, j);
  checkHost(t, g, j, cluster.host, cluster.normal);
  const host = kind === DATA ? cluster.host + i * sc : 0;
  let expected = host + sc;
  let end = t.guestStart + j * cs + (i + 1) * sc;
  const first = kind;
  while (end < limit) {
    i++;
    if (i === SUBCLUSTERS_PER_CLUSTER) {
      i = 0;
      j++;
      hi = view.getUint32(j * 16);
      lo = view.getUint32(j * 16 + 4);
      if (isCompressed(hi)) break;
      cluster = decodeExtended(view, j, g);
      if (cluster.normal && !hostUsable(cluster.host, cs)) break;
    }
    kind = subKind(cluster, i);
    if (kind !== first) break;
    if (kind === DATA) {
      if (cluster.host + i * sc !== expected) break;
      expected += sc;
    }
    end += sc;
  }
  return run(
    first,
    Math.min(end, limit) - from,
    first === DATA ? host + (inCluster % sc) : undefined,
  );
}

interface ExtendedEntry {
  /** The cluster has a host cluster (or is cluster 0 of an external data file). */
  normal: boolean;
  host: number;
  alloc: number;
  zero: number;
}

function decodeExtended(view: DataView, j: number, g: L2Geometry): ExtendedEntry {
  const at = j * 16;
  const hi = view.getUint32(at);
  const lo = view.getUint32(at + 4);
  const host = offsetField(hi, lo);
  return {
    normal: host !== 0 || (g.dataFile && isCopied(hi)),
    host,
    // Bits 0–31 of the bitmap say "allocated", bits 32–63 "reads as zeros" (qcow2.txt "Extended L2 Entries").
    zero: view.getUint32(at + 8),
    alloc: view.getUint32(at + 12),
  };
}

/** QEMU's qcow2_get_subcluster_type for a standard (not compressed) cluster. */
function subKind(e: ExtendedEntry, i: number): number {
  const alloc = (e.alloc >>> i) & 1;
  const zero = (e.zero >>> i) & 1;
  if (e.normal) {
    if ((e.alloc & e.zero) !== 0) return INVALID;
    if (zero) return ZERO;
    return alloc ? DATA : UNALLOCATED;
  }
  if (e.alloc !== 0) return INVALID;
  return zero ? ZERO : UNALLOCATED;
}

function compressedRun(
  t: L2Table,
  g: L2Geometry,
  j: number,
  hi: number,
  lo: number,
  inCluster: number,
  from: number,
  limit: number,
): L2Run {
  const d = compressedDescriptor(hi, lo, g.clusterBits);
  if (d.hostOffset > Number.MAX_SAFE_INTEGER) {
    throw new Qcow2Error(
      "OUT_OF_RANGE",
      `compressed cluster offset of guest cluster ${t.guestStart / g.clusterSize + j} exceeds 2^53-1`,
      { field: "l2_entry", offset: t.offset + j * (g.extendedL2 ? 16 : 8) },
    );
  }
  return {
    kind: "compressed",
    length: Math.min(g.clusterSize - inCluster, limit - from),
    offset: d.hostOffset,
    compressedLength: d.length,
    inCluster,
  };
}

function run(kind: number, length: number, offset: number | undefined): L2Run {
  const r: L2Run = { kind: KIND_NAMES[kind] as L2Run["kind"], length };
  if (offset !== undefined) r.offset = offset;
  return r;
}

/** A host cluster offset the reader uses (aligned, exact): others are refused where a run starts. */
export function hostUsable(host: number, clusterSize: number): boolean {
  return host % clusterSize === 0 && host <= Number.MAX_SAFE_INTEGER;
}

/** Refuses, as the reader does, a host cluster offset QEMU would not use. */
function checkHost(t: L2Table, g: L2Geometry, j: number, host: number, owned: boolean): void {
  if (!owned) return;
  const entryOffset = t.offset + j * (g.extendedL2 ? 16 : 8);
  const clusterIndex = t.guestStart / g.clusterSize + j;
  if (host > Number.MAX_SAFE_INTEGER) {
    throw new Qcow2Error(
      "OUT_OF_RANGE",
      `data cluster offset ${host} (guest cluster ${clusterIndex}) exceeds 2^53-1`,
      { field: "l2_entry", value: host, offset: entryOffset },
    );
  }
  if (host % g.clusterSize !== 0) {
    throw new Qcow2Error(
      "INVALID_STRUCTURE",
      `data cluster offset ${host} (guest cluster ${clusterIndex}) is not cluster-aligned`,
      { field: "l2_entry", value: host, offset: entryOffset },
    );
  }
}

function invalidBitmap(t: L2Table, g: L2Geometry, j: number): Qcow2Error {
  const bitmap = t.view.getBigUint64(j * 16 + 8);
  return new Qcow2Error(
    "INVALID_STRUCTURE",
    `invalid extended L2 entry for guest cluster ${t.guestStart / g.clusterSize + j} (bitmap 0x${bitmap.toString(16)})`,
    { field: "l2_bitmap", value: `0x${bitmap.toString(16)}`, offset: t.offset + j * 16 },
  );
}
