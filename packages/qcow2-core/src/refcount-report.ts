import { isQcow2Error, Qcow2Error } from "./errors.js";
import {
  hasFeature,
  INCOMPAT_EXTENDED_L2,
  INCOMPAT_EXTERNAL_DATA_FILE,
} from "./format/features.js";
import { decodeL2Entry, l1EntryOffset, l2EntrySize } from "./format/l2-entry.js";
import { exactField } from "./format/numbers.js";
import { inspect, type Qcow2Info } from "./inspect.js";
import { L1Table } from "./reader/l1-table.js";
import { RefcountTable } from "./refcount-table.js";
import { type ByteSource, readPadded } from "./source/byte-source.js";

/** One data cluster reachable through the active L1/L2 tables whose stored refcount is 0. */
export interface OrphanCluster {
  /** Host offset of the data cluster. */
  hostOffset: number;
  /** Guest offset it maps. */
  guestOffset: number;
}

/** Refcount metadata and the orphan scan (the seed's `refcount_report`). */
export interface RefcountReport {
  refcountOrder: number;
  refcountBits: number;
  refcountTableOffset: number;
  refcountTableClusters: number;
  /** Host data clusters reachable through the active L1/L2 tables that were examined. */
  allocatedClusters: number;
  /** Of those, how many have a stored refcount of 0 (QEMU counts each as a corruption). */
  orphanClusters: number;
  /** The orphans, first {@link MAX_LISTED_ORPHANS}, with host and guest offsets. */
  orphans: OrphanCluster[];
  /** Clusters whose refcount could not be resolved; never counted as orphans. */
  unresolvedClusters: number;
}

/** How many orphans the report lists individually (the count is always exact). */
export const MAX_LISTED_ORPHANS = 1024;

/**
 * Walks the active L1/L2 mapping and looks up each allocated host data
 * cluster's stored refcount. A cluster reachable yet at refcount 0 is an
 * orphan. Fails loudly on a refcount table that cannot be read.
 *
 * Counts standard and zero-allocated clusters that own a host cluster;
 * compressed clusters are skipped (they share host clusters by design).
 *
 * @example
 * ```ts
 * const r = await refcountReport(source);
 * if (r.orphanClusters > 0) console.log(`${r.orphanClusters} orphaned clusters`);
 * ```
 */
export async function refcountReport(
  source: ByteSource,
  info?: Qcow2Info,
): Promise<RefcountReport> {
  try {
    return await scan(source, info ?? (await inspect(source)));
  } catch (e) {
    throw isQcow2Error(e) ? (e as Qcow2Error).withFile(source.name) : e;
  }
}

async function scan(source: ByteSource, info: Qcow2Info): Promise<RefcountReport> {
  if (info.version === 1) {
    throw new Qcow2Error("UNSUPPORTED_FEATURE", "QCOW version 1 images have no refcounts", {
      field: "version",
      value: 1,
    });
  }
  const refcounts = await RefcountTable.load(source, info);
  const clusterSize = refcounts.clusterSize;
  const report: RefcountReport = {
    refcountOrder: info.refcountOrder,
    refcountBits: info.refcountBits,
    refcountTableOffset: info.refcountTableOffset,
    refcountTableClusters: info.refcountTableClusters,
    allocatedClusters: 0,
    orphanClusters: 0,
    orphans: [],
    unresolvedClusters: 0,
  };
  const l1 = await L1Table.load(
    source,
    exactField(info.l1TableOffset, "l1_table_offset", info.outOfRange),
    info.l1Size,
    clusterSize,
    "active",
  );
  const hasDataFile = hasFeature(info.incompatibleFeatures, INCOMPAT_EXTERNAL_DATA_FILE);
  const extendedL2 = hasFeature(info.incompatibleFeatures, INCOMPAT_EXTENDED_L2);
  const entrySize = l2EntrySize(extendedL2);
  const l2Entries = clusterSize / entrySize;
  // Each distinct L2 table is scanned once: a crafted L1 pointing every entry at
  // one table would otherwise cost l1_size × entries-per-table steps. Distinct
  // tables inside the file bound the work by the file's size.
  const seen = new Set<number>();
  for (let i = 0; i < l1.size; i++) {
    const l2Offset = Number(l1EntryOffset(l1.entry(i)));
    if (
      l2Offset === 0 ||
      l2Offset % clusterSize !== 0 ||
      l2Offset >= source.size ||
      seen.has(l2Offset)
    )
      continue;
    seen.add(l2Offset);
    const l2 = await readPadded(source, l2Offset, clusterSize);
    const view = new DataView(l2.buffer, l2.byteOffset, l2.byteLength);
    for (let j = 0; j < l2Entries; j++) {
      const d = decodeL2Entry(view.getBigUint64(j * entrySize), info.clusterBits, {
        hasDataFile,
        extendedL2,
      });
      if (d.kind !== "normal" && d.kind !== "zero-alloc") continue;
      // Clusters of an external data file have no refcounts in this image.
      if (hasDataFile) continue;
      report.allocatedClusters++;
      const stored = await refcounts.refcount(Math.floor(d.hostOffset / clusterSize));
      if (stored === null) {
        report.unresolvedClusters++;
      } else if (stored === 0) {
        report.orphanClusters++;
        if (report.orphans.length < MAX_LISTED_ORPHANS) {
          report.orphans.push({
            hostOffset: d.hostOffset,
            guestOffset: (i * l2Entries + j) * clusterSize,
          });
        }
      }
    }
  }
  return report;
}
