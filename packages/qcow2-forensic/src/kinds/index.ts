import type { AnomalyCode, AnomalyOf } from "../anomaly.js";
import {
  backingFile,
  corrupt,
  dirty,
  encrypted,
  externalData,
  internalSnapshots,
  qcow1,
} from "./header.js";
import type { AnomalyKind } from "./kind.js";
import { orphanClusters } from "./refcount.js";
import { snapshot } from "./snapshot.js";

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
};

/** Looks up the kind of an anomaly with its data type preserved. */
export function kindOf<C extends AnomalyCode>(code: C): AnomalyKind<AnomalyOf<C>> {
  return KINDS[code];
}
