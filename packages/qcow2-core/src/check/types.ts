import type { HostCensus } from "./census.js";

/** The structure a host cluster is referenced by (for overlap and out-of-bounds reports). */
export type ClusterOwner =
  | "header"
  | "l1-table"
  | "l2-table"
  | "data"
  | "compressed-data"
  | "refcount-table"
  | "refcount-block"
  | "snapshot-table"
  | "snapshot-l1-table"
  | "bitmap-directory"
  | "bitmap-table"
  | "bitmap-data"
  | "encryption-header";

/** Every kind of problem `check` reports. */
export type CheckProblemKind =
  /** Stored refcount > computed (QEMU: "Leaked cluster"). */
  | "leak"
  /** Stored refcount < computed (QEMU: "ERROR cluster … refcount=… reference=…"). */
  | "refcount-too-low"
  /** Two different structures share a host cluster. */
  | "overlap"
  /** A referenced cluster lies past the end of the file. */
  | "beyond-eof"
  /** A cluster-aligned offset is not aligned. */
  | "misaligned"
  /** Reserved bits set in an L1/L2/refcount-table entry. */
  | "reserved-bits"
  /** QCOW_OFLAG_COPIED disagrees with the refcount. */
  | "copied-flag"
  /** A computed refcount exceeds what the refcount width can store. */
  | "refcount-overflow"
  /** Invalid extended-L2 bitmap, compressed cluster in a data-file image, bad snapshot entry, … */
  | "invalid-entry"
  /** The check itself could not read something (QEMU's check-errors). */
  | "check-error";

/** One problem, with its host offset so findings can cite it. */
export interface CheckProblem {
  kind: CheckProblemKind;
  /** QEMU-style one-line message. */
  message: string;
  /** Host byte offset of the cluster or entry concerned (absent when it is beyond 2^53). */
  hostOffset?: number;
  /**
   * Host offset of what holds the reference (a header field, an L1/L2 entry,
   * a table entry, a snapshot table entry): what a finding cites when the
   * target itself lies outside the file.
   */
  entryOffset?: number;
  /** The referenced offset exactly, as `0x…` hex (offsets past end of file can exceed 2^53). */
  target?: string;
  /** Host cluster index, for refcount problems. */
  cluster?: number;
  /** Stored and computed refcounts, for refcount problems. */
  stored?: number;
  computed?: number;
  /** The structures involved (overlap: both; beyond-eof/misaligned: the referrer). */
  owners?: ClusterOwner[];
  /** Whether QEMU counts this as a corruption (and so in `corruptions`). */
  corruption: boolean;
}

/**
 * The result of {@link check}: the totals `qemu-img check` reports, plus every
 * problem with its host offset.
 */
export interface CheckReport {
  /** QEMU's check-errors: things the check could not read. */
  checkErrors: number;
  /** Clusters whose stored refcount exceeds the references found. */
  leaks: number;
  /** Everything QEMU counts as a corruption. */
  corruptions: number;
  /** Guest clusters of the virtual disk. */
  totalClusters: number;
  /** Guest clusters allocated in the active L1/L2 tables. */
  allocatedClusters: number;
  fragmentedClusters: number;
  compressedClusters: number;
  /** Offset just past the last cluster in use (stored or referenced). */
  imageEndOffset: number;
  clusterSize: number;
  /** Size of the image file. */
  fileSize: number;
  /** Problems in the order found (bounded; counts above are exact). */
  problems: CheckProblem[];
  /** True when `problems` was cut at its bound. */
  problemsTruncated: boolean;
  /** Host cluster indexes of leaked clusters (stored > 0, referenced less), bounded. */
  leakedClusters: number[];
  /** Host cluster indexes referenced but stored with refcount 0 (orphans), bounded. */
  orphanedClusters: number[];
  /** The host file summarised cell by cell, when asked for (`check`'s `census` option). */
  census?: HostCensus;
}

/** Problems and cluster lists kept per report; counts stay exact beyond these. */
export const MAX_CHECK_PROBLEMS = 10_000;
export const MAX_LISTED_CLUSTERS = 1_000_000;
