import { Qcow2Error } from "../errors.js";
import {
  hasFeature,
  INCOMPAT_EXTENDED_L2,
  INCOMPAT_EXTERNAL_DATA_FILE,
} from "../format/features.js";
import { l2EntrySize } from "../format/l2-entry.js";
import type { Qcow2Info } from "../inspect.js";
import { LIMITS } from "../limits.js";

/**
 * Refuses, as `qemu-img check` does by failing to open the image, what QEMU
 * itself will not check (its qcow2_do_open validation), with QEMU's reason.
 */
export function assertCheckable(info: Qcow2Info, fileSize: number): void {
  const fail = (
    code:
      | "UNSUPPORTED_FEATURE"
      | "INVALID_STRUCTURE"
      | "L1_TOO_LARGE"
      | "CLUSTER_BITS_OUT_OF_RANGE"
      | "LIMIT_EXCEEDED",
    message: string,
    field: string,
    value: string | number,
  ) => {
    throw new Qcow2Error(code, message, { field, value });
  };
  if (info.version === 1)
    fail("UNSUPPORTED_FEATURE", "This image format does not support checks", "version", 1);
  const cs = info.clusterSize;
  if (cs === null) {
    fail(
      "CLUSTER_BITS_OUT_OF_RANGE",
      `Unsupported cluster size: 2^${info.clusterBits}`,
      "cluster_bits",
      info.clusterBits,
    );
    return;
  }
  if (info.version === 3 && info.headerLength < 104)
    fail("INVALID_STRUCTURE", "qcow2 header too short", "header_length", info.headerLength);
  if (info.headerLength > cs)
    fail(
      "INVALID_STRUCTURE",
      "qcow2 header exceeds cluster size",
      "header_length",
      info.headerLength,
    );
  if (info.backingFile !== null && info.backingFile.offset > cs) {
    fail(
      "INVALID_STRUCTURE",
      "Invalid backing file offset",
      "backing_file_offset",
      info.backingFile.offset,
    );
  }
  if (info.refcountOrder > 6)
    fail(
      "INVALID_STRUCTURE",
      "Reference count entry width too large; may not exceed 64 bits",
      "refcount_order",
      info.refcountOrder,
    );
  if (info.incompatibleFeatures.unknownBits.length > 0) {
    fail(
      "UNSUPPORTED_FEATURE",
      `Unsupported qcow2 feature(s): bits ${info.incompatibleFeatures.unknownBits.join(", ")}`,
      "incompatible_features",
      info.incompatibleFeatures.value,
    );
  }
  if (info.encryptionMethod > 2)
    fail(
      "UNSUPPORTED_FEATURE",
      `Unsupported encryption method: ${info.encryptionMethod}`,
      "crypt_method",
      info.encryptionMethod,
    );
  if (
    hasFeature(info.incompatibleFeatures, INCOMPAT_EXTERNAL_DATA_FILE) &&
    info.externalDataFile === null
  ) {
    fail(
      "UNSUPPORTED_FEATURE",
      "'data-file' is required for this image",
      "incompatible_features",
      info.incompatibleFeatures.value,
    );
  }
  const extProblem = info.problems.find((p) => p.field === "header extension length");
  if (extProblem) fail("INVALID_STRUCTURE", extProblem.message, extProblem.field, extProblem.value);
  for (const f of info.outOfRange)
    fail("INVALID_STRUCTURE", `${f.field} = ${f.value} is out of range`, f.field, f.value);

  if (info.refcountTableOffset % cs !== 0)
    fail(
      "INVALID_STRUCTURE",
      "Invalid reference count table offset",
      "refcount_table_offset",
      info.refcountTableOffset,
    );
  if (info.refcountTableClusters * cs > LIMITS.maxRefcountTableBytes) {
    fail(
      "LIMIT_EXCEEDED",
      "Reference count table too large",
      "refcount_table_clusters",
      info.refcountTableClusters,
    );
  }
  if (info.snapshotCount > LIMITS.maxSnapshots)
    fail("LIMIT_EXCEEDED", "Snapshot table too large", "nb_snapshots", info.snapshotCount);
  if (info.snapshotCount > 0 && info.snapshotsOffset % cs !== 0)
    fail(
      "INVALID_STRUCTURE",
      "Invalid snapshot table offset",
      "snapshots_offset",
      info.snapshotsOffset,
    );
  if (info.l1Size > LIMITS.maxL1Entries)
    fail("L1_TOO_LARGE", "Active L1 table too large", "l1_size", info.l1Size);
  if (info.l1Size > 0 && info.l1TableOffset % cs !== 0)
    fail("INVALID_STRUCTURE", "Invalid L1 table offset", "l1_table_offset", info.l1TableOffset);
  const entries = cs / l2EntrySize(hasFeature(info.incompatibleFeatures, INCOMPAT_EXTENDED_L2));
  if (info.l1Size < Math.ceil(info.virtualSize / (cs * entries)))
    fail("INVALID_STRUCTURE", "L1 table is too small", "l1_size", info.l1Size);
  if (Math.ceil(fileSize / cs) > 2 ** 31 - 1)
    fail("LIMIT_EXCEEDED", "image file too large to check", "file size", fileSize);
}
