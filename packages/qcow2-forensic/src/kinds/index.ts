import type { AnomalyCode, AnomalyOf } from "../anomaly.js";
import { backingAbsolutePath, backingLoop, backingMissing } from "./backing.js";
import { bitmapInUse, bitmaps } from "./bitmaps.js";
import { divergence } from "./divergence.js";
import { encrypted, luks } from "./encryption.js";
import { headerInconsistent, unknownHeaderExtension } from "./extensions.js";
import {
  compressedClusters,
  lazyRefcounts,
  unknownFeature,
  unknownIncompatible,
} from "./features.js";
import {
  guestBootCodeChanged,
  guestEncryptedVolume,
  guestFsErrors,
  guestFsTimeAnomaly,
  guestGptDamaged,
  guestHibernation,
  guestPartitionTableChanged,
  guestPartitionTableInconsistent,
  guestUnpartitionedData,
} from "./guest.js";
import { backingFile, corrupt, dirty, externalData, internalSnapshots, qcow1 } from "./header.js";
import type { AnomalyKind } from "./kind.js";
import {
  invalidEntry,
  metadataOverlap,
  misalignedOffset,
  offsetBeyondEof,
  trailingData,
} from "./layout.js";
import { leakedClusters, orphanClusters, refcountMismatch } from "./refcount.js";
import {
  snapshot,
  snapshotTableTruncated,
  snapshotTimeAnomaly,
  snapshotVmstate,
} from "./snapshot.js";

export type { AnomalyKind } from "./kind.js";

/** The single source of truth for every finding code. */
export const KINDS: { readonly [C in AnomalyCode]: AnomalyKind<AnomalyOf<C>> } = {
  "QCOW2-CORRUPT": corrupt,
  "QCOW2-BACKING-FILE": backingFile,
  "QCOW2-ENCRYPTED": encrypted,
  "QCOW2-EXTERNAL-DATA": externalData,
  "QCOW2-ORPHAN-CLUSTERS": orphanClusters,
  "QCOW2-INTERNAL-SNAPSHOTS": internalSnapshots,
  "QCOW2-SNAPSHOT": snapshot,
  "QCOW2-DIRTY": dirty,
  "QCOW2-QCOW1": qcow1,
  "QCOW2-LEAKED-CLUSTERS": leakedClusters,
  "QCOW2-REFCOUNT-MISMATCH": refcountMismatch,
  "QCOW2-METADATA-OVERLAP": metadataOverlap,
  "QCOW2-OFFSET-BEYOND-EOF": offsetBeyondEof,
  "QCOW2-MISALIGNED-OFFSET": misalignedOffset,
  "QCOW2-INVALID-ENTRY": invalidEntry,
  "QCOW2-TRAILING-DATA": trailingData,
  "QCOW2-SNAPSHOT-VMSTATE": snapshotVmstate,
  "QCOW2-SNAPSHOT-TIME-ANOMALY": snapshotTimeAnomaly,
  "QCOW2-SNAPSHOT-TABLE-TRUNCATED": snapshotTableTruncated,
  "QCOW2-UNKNOWN-INCOMPATIBLE-FEATURE": unknownIncompatible,
  "QCOW2-UNKNOWN-FEATURE": unknownFeature,
  "QCOW2-UNKNOWN-HEADER-EXTENSION": unknownHeaderExtension,
  "QCOW2-HEADER-INCONSISTENT": headerInconsistent,
  "QCOW2-LAZY-REFCOUNTS": lazyRefcounts,
  "QCOW2-COMPRESSED-CLUSTERS": compressedClusters,
  "QCOW2-BITMAPS": bitmaps,
  "QCOW2-BITMAP-IN-USE": bitmapInUse,
  "QCOW2-BACKING-MISSING": backingMissing,
  "QCOW2-BACKING-LOOP": backingLoop,
  "QCOW2-BACKING-ABSOLUTE-PATH": backingAbsolutePath,
  "QCOW2-LUKS": luks,
  "QCOW2-DIVERGENCE": divergence,
  "QCOW2-GUEST-ENCRYPTED-VOLUME": guestEncryptedVolume,
  "QCOW2-GUEST-HIBERNATION": guestHibernation,
  "QCOW2-GUEST-PARTITION-TABLE-CHANGED": guestPartitionTableChanged,
  "QCOW2-GUEST-BOOT-CODE-CHANGED": guestBootCodeChanged,
  "QCOW2-GUEST-GPT-DAMAGED": guestGptDamaged,
  "QCOW2-GUEST-PARTITION-TABLE-INCONSISTENT": guestPartitionTableInconsistent,
  "QCOW2-GUEST-UNPARTITIONED-DATA": guestUnpartitionedData,
  "QCOW2-GUEST-FS-ERRORS": guestFsErrors,
  "QCOW2-GUEST-FS-TIME-ANOMALY": guestFsTimeAnomaly,
};

/** Looks up the kind of an anomaly with its data type preserved. */
export function kindOf<C extends AnomalyCode>(code: C): AnomalyKind<AnomalyOf<C>> {
  return KINDS[code];
}
