import type { ClusterOwner } from "./types.js";

const OWNERS: readonly ClusterOwner[] = [
  "header",
  "l1-table",
  "l2-table",
  "data",
  "compressed-data",
  "refcount-table",
  "refcount-block",
  "snapshot-table",
  "snapshot-l1-table",
  "bitmap-directory",
  "bitmap-table",
  "bitmap-data",
  "encryption-header",
];
const OWNER_CODE = new Map(OWNERS.map((o, i) => [o, i + 1]));

/** {@link RefcountAccumulator.increment}: the count already sat at the width's maximum (QEMU: "overflow"). */
export const OVERFLOW = -1;

/** The numeric code of an owner, for {@link RefcountAccumulator.increment}. */
export function ownerCode(owner: ClusterOwner): number {
  return OWNER_CODE.get(owner) as number;
}

/** The owner with numeric code `code`. */
export function ownerOf(code: number): ClusterOwner {
  return OWNERS[code - 1] as ClusterOwner;
}

/**
 * The reference counts recomputed from metadata, one typed-array slot per
 * host cluster (QEMU's in-memory refcount table), with the first owner of
 * each cluster to spot structures that overlap. Clusters far past the end of
 * the file go to a sparse map, so a crafted offset cannot force a huge array.
 */
export class RefcountAccumulator {
  private counts: Uint32Array;
  private owners: Uint8Array;
  private readonly sparse = new Map<number, { count: number; owner: number }>();
  /** One past the highest cluster index referenced (QEMU grows nb_clusters to it). */
  size: number;

  constructor(
    fileClusters: number,
    /** Largest refcount the image's width can store. */
    private readonly max: number,
  ) {
    this.size = fileClusters;
    this.counts = new Uint32Array(fileClusters);
    this.owners = new Uint8Array(fileClusters);
  }

  /** Dense arrays grow up to twice the file's clusters (plus slack); beyond, sparse. */
  private denseLimit(): number {
    return Math.max(this.counts.length, 1024) * 2;
  }

  /**
   * Counts one more reference to `cluster` by the structure with owner code
   * `code` (see {@link ownerCode}). Returns {@link OVERFLOW} when the count
   * already sits at the width's maximum, the previous owner's code when a
   * different structure already referenced the cluster (an overlap), else 0.
   * A number, not an object: this runs once per cluster in use.
   */
  increment(cluster: number, code: number): number {
    if (cluster >= this.size) this.size = cluster + 1;
    if (cluster >= this.counts.length && cluster < this.denseLimit()) this.grow(cluster + 1);
    if (cluster < this.counts.length) {
      const count = this.counts[cluster] as number;
      if (count >= this.max) return OVERFLOW;
      const previous = this.owners[cluster] as number;
      this.counts[cluster] = count + 1;
      if (previous === 0) {
        this.owners[cluster] = code;
        return 0;
      }
      return previous === code ? 0 : previous;
    }
    const entry = this.sparse.get(cluster);
    const count = entry?.count ?? 0;
    const previous = entry?.owner ?? 0;
    if (count >= this.max) return OVERFLOW;
    this.sparse.set(cluster, { count: count + 1, owner: previous === 0 ? code : previous });
    return previous === 0 || previous === code ? 0 : previous;
  }

  count(cluster: number): number {
    if (cluster < this.counts.length) return this.counts[cluster] as number;
    return this.sparse.get(cluster)?.count ?? 0;
  }

  owner(cluster: number): ClusterOwner | null {
    const code =
      cluster < this.owners.length
        ? (this.owners[cluster] as number)
        : (this.sparse.get(cluster)?.owner ?? 0);
    return code === 0 ? null : (OWNERS[code - 1] as ClusterOwner);
  }

  /** The owner code of `cluster` (see {@link ownerOf}), 0 when nothing references it. */
  ownerCodeAt(cluster: number): number {
    return cluster < this.owners.length
      ? (this.owners[cluster] as number)
      : (this.sparse.get(cluster)?.owner ?? 0);
  }

  /** Cluster indexes held sparsely (far past end of file), ascending. */
  sparseClusters(): number[] {
    return [...this.sparse.keys()].sort((a, b) => a - b);
  }

  /** Length of the dense part. */
  get denseSize(): number {
    return this.counts.length;
  }

  private grow(size: number): void {
    const n = Math.min(this.denseLimit(), Math.max(size, Math.ceil(this.counts.length * 1.5)));
    const counts = new Uint32Array(n);
    counts.set(this.counts);
    const owners = new Uint8Array(n);
    owners.set(this.owners);
    this.counts = counts;
    this.owners = owners;
  }
}
