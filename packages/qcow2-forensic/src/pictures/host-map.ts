import type { HostCensus, HostCensusCell, HostClusterFlag, HostClusterUse } from "@x/qcow2-core";
import type { CellMapFigure, MapCategory } from "@x/report";
import { formatBytes, plural, pushCell } from "./units.js";

/** What a host cell is drawn as; a few owners share a category (refcount table and blocks, …). */
type HostCategory =
  | "header"
  | "l1"
  | "l2"
  | "refcount"
  | "snapshot"
  | "bitmap"
  | "encryption"
  | "data"
  | "compressed"
  | "unused"
  | "leaked"
  | "mismatch"
  | "orphaned"
  | "overlap"
  | "past-eof";

const CATEGORIES: Readonly<Record<HostCategory, MapCategory>> = {
  header: {
    label: "header",
    swatch: { color: "black" },
    description: "the QCOW2 header and its extensions (cluster 0)",
  },
  l1: { label: "L1 table", swatch: { color: "blue" }, description: "the active L1 table" },
  l2: {
    label: "L2 tables",
    swatch: { color: "sky-blue" },
    description: "L2 tables (active and snapshots')",
  },
  refcount: {
    label: "refcount table/blocks",
    swatch: { color: "bluish-green" },
    description: "the refcount table and refcount blocks",
  },
  snapshot: {
    label: "snapshot table/L1",
    swatch: { color: "reddish-purple" },
    description: "the snapshot table and the snapshots' L1 tables",
  },
  bitmap: {
    label: "bitmaps",
    swatch: { color: "yellow" },
    description: "persistent dirty bitmaps: directory, tables and data",
  },
  encryption: {
    label: "encryption header",
    swatch: { color: "blue", pattern: "stripes" },
    description: "the LUKS header and key material",
  },
  data: { label: "data", swatch: { color: "grey" }, description: "guest data clusters" },
  compressed: {
    label: "compressed data",
    swatch: { color: "grey", pattern: "dots" },
    description: "compressed guest data",
  },
  unused: {
    label: "unused",
    swatch: { color: "light-grey" },
    description: "clusters nothing refers to and no refcount claims",
  },
  leaked: {
    label: "leaked",
    swatch: { color: "orange", pattern: "hatch" },
    description: "refcount above the references found: residue of deleted data",
  },
  mismatch: {
    label: "refcount mismatch",
    swatch: { color: "reddish-purple", pattern: "crosshatch" },
    description: "refcount below the references found",
  },
  orphaned: {
    label: "orphaned",
    swatch: { color: "vermillion", pattern: "crosshatch" },
    description: "referenced but with refcount 0",
  },
  overlap: {
    label: "overlapping",
    swatch: { color: "black", pattern: "crosshatch" },
    description: "one cluster used by two structures",
  },
  "past-eof": {
    label: "past EOF",
    swatch: { color: "vermillion", pattern: "stripes" },
    description: "references a cluster or more past the end of the file",
  },
};

const ORDER = Object.keys(CATEGORIES) as HostCategory[];

// Anomalies first, then metadata (a few clusters that locate everything else), so both stay visible at any scale.
const FLAG_PRECEDENCE: ReadonlyArray<[HostClusterFlag, HostCategory]> = [
  ["overlap", "overlap"],
  ["orphaned", "orphaned"],
  ["refcount-mismatch", "mismatch"],
  ["leaked", "leaked"],
];
const METADATA_PRECEDENCE: ReadonlyArray<[HostClusterUse, HostCategory]> = [
  ["header", "header"],
  ["l1-table", "l1"],
  ["refcount-table", "refcount"],
  ["refcount-block", "refcount"],
  ["snapshot-table", "snapshot"],
  ["snapshot-l1-table", "snapshot"],
  ["encryption-header", "encryption"],
  ["bitmap-directory", "bitmap"],
  ["bitmap-table", "bitmap"],
  ["bitmap-data", "bitmap"],
  ["l2-table", "l2"],
];
const BULK: ReadonlyArray<[HostClusterUse, HostCategory]> = [
  ["data", "data"],
  ["compressed-data", "compressed"],
  ["unused", "unused"],
];

/** The category a cell is drawn in (the precedence stated in the map's caption). */
export function hostCellCategory(cell: HostCensusCell): HostCategory {
  for (const [flag, category] of FLAG_PRECEDENCE) if ((cell.flags[flag] ?? 0) > 0) return category;
  for (const [use, category] of METADATA_PRECEDENCE) if ((cell.uses[use] ?? 0) > 0) return category;
  let best: HostCategory = "unused";
  let most = 0;
  for (const [use, category] of BULK) {
    const n = cell.uses[use] ?? 0;
    if (n > most) {
      most = n;
      best = category;
    }
  }
  return best;
}

/**
 * The host-file map: the census of `check` drawn cell by cell, coloured by
 * what uses the clusters, with leaks, orphans, mismatches and overlaps on
 * top; references past the end of the file get cells of their own after it.
 *
 * @example
 * ```ts
 * const figure = hostMapFigure(report.census, "disk.qcow2");
 * ```
 */
export function hostMapFigure(census: HostCensus, title = "Host file"): CellMapFigure {
  const used = new Map<HostCategory, number>();
  const index = (c: HostCategory) => {
    let i = used.get(c);
    if (i === undefined) {
      i = used.size;
      used.set(c, i);
    }
    return i;
  };
  // Categories are numbered in legend order; cells are assigned first, then renumbered.
  const cells = census.cells.map(hostCellCategory);
  for (const c of ORDER)
    if (cells.includes(c) || (c === "past-eof" && census.beyondEof.count > 0)) index(c);
  const runs: number[] = [];
  for (const c of cells) pushCell(runs, used.get(c) as number);
  const cellBytes = census.clustersPerCell * census.clusterSize;
  const figure: CellMapFigure = {
    kind: "cell-map",
    title,
    categories: [...used.keys()].map((c) => CATEGORIES[c]),
    runs,
    cellBytes,
    caption:
      `${formatBytes(census.fileSize)} file (${census.fileSize} bytes), ${plural(census.clusters, "cluster")} of ${formatBytes(census.clusterSize)}; ` +
      `each cell is ${plural(census.clustersPerCell, "cluster")} (${formatBytes(cellBytes)}). ` +
      "A cell shows an overlap, orphan, refcount mismatch or leak if any of its clusters has one (in that order), " +
      "else metadata if it holds any, else the most common of data, compressed data and unused clusters. " +
      "Legend numbers count cells.",
  };
  if (census.beyondEof.count > 0) {
    const shown = Math.min(census.beyondEof.count, 64);
    const first = census.beyondEof.offsets.map((o) => `0x${o.toString(16)}`).join(", ");
    figure.tail = { label: "past EOF", runs: [used.get("past-eof") as number, shown] };
    figure.caption += ` ${plural(census.beyondEof.count, "reference")} point past the end of the file (one cell each, up to 64; first at ${first}).`;
  }
  return figure;
}
