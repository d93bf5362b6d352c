import type { ClusterOwner, HeaderProblem, OrphanCluster } from "@x/qcow2-core";
import type { BootCodeChange, LayoutChange, VolumeProblem } from "@x/volumes";

/** A volume inside the guest, and the states (active disk, snapshots, backing file) it was seen in. */
export interface GuestVolumeRef {
  /** "active disk", `snapshot 1 "name"`, `backing file "base.qcow2"`. */
  states: string[];
  /** Partition number, or `null` for the whole disk. */
  partition: number | null;
  /** Guest byte offset and length of the partition (or disk). */
  offset: number;
  length: number;
  /** blkid's TYPE, UUID and LABEL. */
  type: string;
  uuid: string | null;
  label: string | null;
}

/** A cluster cited by a finding. */
export interface CitedCluster {
  hostOffset: number;
  /** Stored and computed refcounts, where relevant. */
  stored?: number;
  computed?: number;
}

/** A metadata entry (or cluster) cited with what is wrong there. */
export interface CitedEntry {
  /** Host offset of the entry or cluster (`NaN` when beyond 2^53: see `entryOffset`). */
  hostOffset: number;
  message: string;
  owners?: ClusterOwner[];
  /** Host offset of the field or entry that holds the bad offset: what the evidence cites. */
  entryOffset?: number;
  /** The spec field holding it (e.g. `l1_table_offset`) and its value, exactly. */
  field?: string;
  value?: string;
  /** The structure holding it (e.g. "QCOW2 header") and the field's width. */
  structure?: string;
  width?: number;
}

/**
 * Every anomaly the auditor can observe, as plain data. The `code` is the
 * stable finding code; the kind table (`kinds/`) holds each code's severity,
 * note and evidence builder.
 */
export type Qcow2Anomaly =
  // Seed kinds (qcow2-forensic 0.2).
  | { code: "QCOW2-CORRUPT" }
  | {
      code: "QCOW2-BACKING-FILE";
      name: string | null;
      format: string | null;
      offset: number;
      size: number;
    }
  | { code: "QCOW2-ENCRYPTED"; method: number; methodName: string }
  | { code: "QCOW2-EXTERNAL-DATA"; dataFile: string | null }
  | {
      code: "QCOW2-ORPHAN-CLUSTERS";
      count: number;
      allocated: number;
      orphans: OrphanCluster[];
      clusterSize: number;
    }
  | { code: "QCOW2-INTERNAL-SNAPSHOTS"; count: number }
  | {
      code: "QCOW2-SNAPSHOT";
      id: string;
      name: string;
      dateSec: number;
      dateNsec: number;
      vmStateSize: number;
      offset: number;
    }
  | { code: "QCOW2-DIRTY" }
  | { code: "QCOW2-QCOW1" }
  // Refcount and layout consistency (check).
  | {
      code: "QCOW2-LEAKED-CLUSTERS";
      count: number;
      clusters: CitedCluster[];
      nonZero: number;
      scanned: number;
      clusterSize: number;
    }
  | {
      code: "QCOW2-REFCOUNT-MISMATCH";
      count: number;
      clusters: CitedCluster[];
      clusterSize: number;
    }
  | { code: "QCOW2-METADATA-OVERLAP"; count: number; entries: CitedEntry[]; clusterSize: number }
  | { code: "QCOW2-OFFSET-BEYOND-EOF"; count: number; entries: CitedEntry[]; fileSize: number }
  | { code: "QCOW2-MISALIGNED-OFFSET"; count: number; entries: CitedEntry[] }
  | { code: "QCOW2-INVALID-ENTRY"; count: number; entries: CitedEntry[]; corruptions: number }
  | {
      code: "QCOW2-TRAILING-DATA";
      offset: number;
      length: number;
      sha256: string;
      hashedLength: number;
      nonZeroBytes: number;
    }
  // Snapshots.
  | { code: "QCOW2-SNAPSHOT-VMSTATE"; id: string; name: string; size: number; offset: number }
  | {
      code: "QCOW2-SNAPSHOT-TIME-ANOMALY";
      id: string;
      name: string;
      dateSec: number;
      offset: number;
      reason: "future" | "before-2008" | "out-of-order";
      /** The audit clock (future), or the earlier-id snapshot's date (out-of-order). */
      reference: number;
    }
  | {
      code: "QCOW2-SNAPSHOT-TABLE-TRUNCATED";
      expected: number;
      /** Entries wholly inside the file. */
      parsed: number;
      /** Entries (partly) past end of file: QEMU lists them, read as zeros. */
      pastEof: number;
      /** Host offsets of the first and last entry past end of file. */
      offset: number;
      lastOffset: number;
      reason: string;
    }
  // Header features and extensions.
  | { code: "QCOW2-UNKNOWN-INCOMPATIBLE-FEATURE"; bits: number[]; value: string }
  | {
      code: "QCOW2-UNKNOWN-FEATURE";
      /** One entry per feature field with unknown bits. */
      fields: Array<{ kind: "compatible" | "autoclear"; bits: number[]; value: string }>;
    }
  | { code: "QCOW2-UNKNOWN-HEADER-EXTENSION"; type: string; offset: number; length: number }
  | { code: "QCOW2-HEADER-INCONSISTENT"; problems: HeaderProblem[] }
  | { code: "QCOW2-LAZY-REFCOUNTS" }
  | { code: "QCOW2-COMPRESSED-CLUSTERS"; count: number; compressionType: string }
  // Bitmaps.
  | {
      code: "QCOW2-BITMAPS";
      bitmaps: Array<{
        name: string;
        granularity: number | null;
        offset: number;
        inUse: boolean;
        auto: boolean;
      }>;
      consistent: boolean;
    }
  | { code: "QCOW2-BITMAP-IN-USE"; name: string; offset: number }
  // How far the active disk has moved from an earlier state (metadata only).
  | {
      code: "QCOW2-DIVERGENCE";
      /** What the active disk is compared with. */
      against: "snapshot" | "backing";
      /** The snapshot's id (snapshot), or `null`. */
      id: string | null;
      /** The snapshot's name, or the backing file's recorded name. */
      name: string;
      /** Host offset of the snapshot table entry, or of the backing file name. */
      offset: number;
      /** Extents whose mapping differs; `null` when the audit's work bound left it uncomputed. */
      extents: number | null;
      /** Bytes in those extents: an upper bound of what changed. */
      bytes: number | null;
      /** The first such extent (guest), if any. */
      first: { start: number; length: number } | null;
      /** The command that gives the exact answer. */
      command: string;
    }
  // Backing chain.
  | {
      code: "QCOW2-BACKING-MISSING";
      name: string;
      depth: number;
      referrer: string;
      message: string;
    }
  | { code: "QCOW2-BACKING-LOOP"; name: string; depth: number; referrer: string; message: string }
  | { code: "QCOW2-BACKING-ABSOLUTE-PATH"; name: string; offset: number; depth: number }
  // Encryption.
  | {
      code: "QCOW2-LUKS";
      offset: number;
      version: number | null;
      cipher: string | null;
      mode: string | null;
      hash: string | null;
      keyBytes: number | null;
      activeSlots: Array<{
        index: number;
        iterations: number;
        stripes: number;
        keyMaterialOffset: number;
      }>;
      uuid: string | null;
      payloadOffset: number | null;
      mkDigestIterations: number | null;
      problem: string | null;
    }
  // Inside the guest (@x/volumes), on every state the reader opens.
  | {
      code: "QCOW2-GUEST-ENCRYPTED-VOLUME";
      volume: GuestVolumeRef;
      version: string | null;
      /** Guest offset of the header found. */
      headerOffset: number;
    }
  | {
      code: "QCOW2-GUEST-HIBERNATION";
      volume: GuestVolumeRef;
      /** The hibernation signature found ("S1SUSPEND", …) and its guest offset. */
      signature: string;
      signatureOffset: number;
    }
  | {
      code: "QCOW2-GUEST-PARTITION-TABLE-CHANGED";
      /** The earlier state and the later one compared. */
      from: string;
      to: string;
      changes: LayoutChange[];
    }
  | { code: "QCOW2-GUEST-BOOT-CODE-CHANGED"; from: string; to: string; changes: BootCodeChange[] }
  | { code: "QCOW2-GUEST-GPT-DAMAGED"; states: string[]; problems: VolumeProblem[] }
  | {
      code: "QCOW2-GUEST-PARTITION-TABLE-INCONSISTENT";
      states: string[];
      problems: VolumeProblem[];
    }
  | {
      code: "QCOW2-GUEST-UNPARTITIONED-DATA";
      state: string;
      /** Allocated bytes outside every partition and table structure. */
      bytes: number;
      /** The first ranges (guest offsets). */
      ranges: Array<{ start: number; length: number }>;
      rangeCount: number;
      /** Bytes read to look for content, how many were not zero, and the first one's offset. */
      scanned: number;
      nonZero: number;
      firstNonZero: number | null;
    }
  | {
      code: "QCOW2-GUEST-FS-ERRORS";
      volume: GuestVolumeRef;
      reasons: string[];
      superblockOffset: number;
    }
  | {
      code: "QCOW2-GUEST-FS-TIME-ANOMALY";
      volume: GuestVolumeRef;
      /** "created", "last mounted" or "last written". */
      field: string;
      time: number;
      reason: "future" | "after-snapshot";
      /** The audit clock (future) or the snapshot's date (after-snapshot). */
      reference: number;
      superblockOffset: number;
    };

/** Every anomaly code. */
export type AnomalyCode = Qcow2Anomaly["code"];

/** The anomaly variant for `code`. */
export type AnomalyOf<C extends AnomalyCode> = Extract<Qcow2Anomaly, { code: C }>;
