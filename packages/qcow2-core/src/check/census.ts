import type { ClusterOwner } from "./types.js";

/** What a host cluster is used for: the first structure referencing it, or nothing. */
export type HostClusterUse = ClusterOwner | "unused";

/** Refcount disagreements a host cluster can carry besides its use. */
export type HostClusterFlag = "leaked" | "orphaned" | "refcount-mismatch" | "overlap";

/**
 * One cell of a {@link HostCensus}: a run of consecutive host clusters,
 * counted by use (each cluster once) and by flag (a cluster may carry one).
 */
export interface HostCensusCell {
  /** Index of the cell's first host cluster. */
  firstCluster: number;
  /** Clusters in the cell (the last cell may hold fewer than the others). */
  clusters: number;
  uses: Partial<Record<HostClusterUse, number>>;
  flags: Partial<Record<HostClusterFlag, number>>;
}

/**
 * The host file, cluster by cluster, aggregated into at most a requested
 * number of cells so that any file size yields a bounded summary (plain data:
 * it crosses worker threads and serialises as JSON).
 *
 * @example
 * ```ts
 * const { census } = await check(source, undefined, { census: { cells: 1024 } });
 * census?.cells[0]?.uses.header; // 1
 * ```
 */
export interface HostCensus {
  clusterSize: number;
  fileSize: number;
  /** Host clusters covered: the file's, plus a partly-past-EOF one QEMU still counts. */
  clusters: number;
  /** Clusters per cell; cell `i` covers clusters `[i × clustersPerCell, …)`. */
  clustersPerCell: number;
  cells: HostCensusCell[];
  /** References that point a whole cluster or more past the end of the file (not in any cell). */
  beyondEof: { count: number; offsets: number[] };
}

/** Cells per census at most: a census is a picture's worth of data, not a cluster list. */
export const MAX_CENSUS_CELLS = 65_536;
/** Host offsets listed for references past end of file; the count stays exact. */
export const MAX_CENSUS_BEYOND_EOF_OFFSETS = 16;

const FLAGS: readonly HostClusterFlag[] = ["leaked", "orphaned", "refcount-mismatch", "overlap"];
/** Overlapping clusters remembered at most (a crafted image can make every cluster overlap). */
const MAX_OVERLAPS = 1_000_000;

/**
 * Builds a {@link HostCensus} from per-cluster facts as the check finds them:
 * overlaps and references past EOF while references are counted, then the
 * refcount comparison, cluster by cluster, once the number of clusters is known.
 */
export class CensusBuilder {
  private readonly beyond: number[] = [];
  private beyondCount = 0;
  private readonly overlaps = new Set<number>();
  private perCell = 1;
  private cellCount = 0;
  private flagCounts: Uint32Array = new Uint32Array(0);

  constructor(
    private readonly requestedCells: number,
    private readonly clusterSize: number,
    private readonly fileSize: number,
  ) {}

  beyondEof(offset: number): void {
    this.beyondCount++;
    if (this.beyond.length < MAX_CENSUS_BEYOND_EOF_OFFSETS) this.beyond.push(offset);
  }

  /** A cluster two structures share; a cell shows an overlap as soon as one of its clusters has one. */
  overlap(cluster: number): void {
    if (this.overlaps.size < MAX_OVERLAPS) this.overlaps.add(cluster);
  }

  /** Fixes the cell size once every reference is counted and the number of clusters is final. */
  begin(clusters: number): void {
    const wanted = Math.max(1, Math.min(MAX_CENSUS_CELLS, Math.floor(this.requestedCells)));
    this.perCell = Math.max(1, Math.ceil(clusters / wanted));
    this.cellCount = Math.ceil(clusters / this.perCell);
    this.flagCounts = new Uint32Array(this.cellCount * FLAGS.length);
  }

  /** A refcount disagreement on `cluster` (after {@link begin}). */
  flag(cluster: number, flag: Exclude<HostClusterFlag, "overlap">): void {
    this.count(cluster, FLAGS.indexOf(flag));
  }

  private count(cluster: number, flagIndex: number): void {
    const cell = Math.floor(cluster / this.perCell);
    if (cell < this.cellCount) (this.flagCounts[cell * FLAGS.length + flagIndex] as number)++;
  }

  /** The census over the clusters given to {@link begin}, whose use `useOf(k)` answers. */
  build(clusters: number, useOf: (cluster: number) => HostClusterUse): HostCensus {
    for (const k of this.overlaps) this.count(k, FLAGS.indexOf("overlap"));
    const cells: HostCensusCell[] = [];
    for (let c = 0; c < this.cellCount; c++) {
      const first = c * this.perCell;
      const n = Math.min(this.perCell, clusters - first);
      const uses: Partial<Record<HostClusterUse, number>> = {};
      for (let k = first; k < first + n; k++) {
        const use = useOf(k);
        uses[use] = (uses[use] ?? 0) + 1;
      }
      const flags: Partial<Record<HostClusterFlag, number>> = {};
      FLAGS.forEach((flag, i) => {
        const count = this.flagCounts[c * FLAGS.length + i] as number;
        if (count > 0) flags[flag] = count;
      });
      cells.push({ firstCluster: first, clusters: n, uses, flags });
    }
    return {
      clusterSize: this.clusterSize,
      fileSize: this.fileSize,
      clusters,
      clustersPerCell: this.perCell,
      cells,
      beyondEof: { count: this.beyondCount, offsets: [...this.beyond] },
    };
  }
}
