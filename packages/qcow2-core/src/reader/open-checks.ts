import { Qcow2Error } from "../errors.js";
import {
  hasFeature,
  INCOMPAT_COMPRESSION_TYPE,
  INCOMPAT_CORRUPT,
  INCOMPAT_DIRTY,
  INCOMPAT_EXTENDED_L2,
  INCOMPAT_EXTERNAL_DATA_FILE,
} from "../format/features.js";
import type { Qcow2Info } from "../inspect.js";
import { LIMITS } from "../limits.js";

/** Incompatible bits the reader understands; any other set bit makes the image unreadable (qcow2.txt). */
const READABLE_INCOMPATIBLE = new Set([
  INCOMPAT_DIRTY,
  INCOMPAT_CORRUPT,
  INCOMPAT_COMPRESSION_TYPE,
]);

/**
 * Refuses, with a typed error, what the strict reader cannot decode. The
 * lenient `inspect` reports the same facts without refusing.
 */
export function assertReadable(info: Qcow2Info): void {
  const unsupported = (what: string, field: string, value: string | number) =>
    new Qcow2Error("UNSUPPORTED_FEATURE", `cannot read guest data: ${what}`, { field, value });

  if (info.version === 1)
    throw unsupported("QCOW version 1 images are not readable yet", "version", 1);
  if (info.encryptionMethod !== 0) {
    throw unsupported(
      `image is encrypted (method ${info.encryption})`,
      "crypt_method",
      info.encryptionMethod,
    );
  }
  const unknown = info.incompatibleFeatures.unknownBits;
  if (unknown.length > 0) {
    throw unsupported(
      `unknown incompatible feature bit(s) ${unknown.join(", ")}`,
      "incompatible_features",
      info.incompatibleFeatures.value,
    );
  }
  if (hasFeature(info.incompatibleFeatures, INCOMPAT_EXTERNAL_DATA_FILE)) {
    throw unsupported(
      "guest data lives in an external data file",
      "incompatible_features",
      "external-data-file",
    );
  }
  if (hasFeature(info.incompatibleFeatures, INCOMPAT_EXTENDED_L2)) {
    throw unsupported(
      "extended L2 entries (subclusters) are not readable yet",
      "incompatible_features",
      "extended-l2",
    );
  }
  for (const bit of info.incompatibleFeatures.bits) {
    if (
      !READABLE_INCOMPATIBLE.has(bit) &&
      bit !== INCOMPAT_EXTERNAL_DATA_FILE &&
      bit !== INCOMPAT_EXTENDED_L2
    ) {
      throw unsupported(
        `incompatible feature bit ${bit}`,
        "incompatible_features",
        info.incompatibleFeatures.value,
      );
    }
  }
  if (info.compressionType !== 0) {
    throw unsupported(
      `compression type ${info.compressionTypeName} is not readable yet`,
      "compression_type",
      info.compressionType,
    );
  }
  if (info.hasBackingFile) {
    throw unsupported(
      `image is an overlay of backing file ${JSON.stringify(info.backingFile?.name ?? "")}; backing chains are not readable yet`,
      "backing_file_offset",
      info.backingFile?.offset ?? 0,
    );
  }
  if (info.clusterSize === null) {
    throw new Qcow2Error(
      "CLUSTER_BITS_OUT_OF_RANGE",
      `cluster_bits ${info.clusterBits} is outside 9–21`,
      {
        field: "cluster_bits",
        value: info.clusterBits,
      },
    );
  }
  for (const f of info.outOfRange) {
    if (["size", "l1_table_offset", "refcount_table_offset"].includes(f.field)) {
      throw new Qcow2Error("OUT_OF_RANGE", `${f.field} = ${f.value} exceeds 2^53-1`, {
        field: f.field,
        value: f.value,
      });
    }
  }
  if (info.l1Size > LIMITS.maxL1Entries) {
    throw new Qcow2Error(
      "L1_TOO_LARGE",
      `l1_size ${info.l1Size} exceeds the limit of ${LIMITS.maxL1Entries} entries`,
      {
        field: "l1_size",
        value: info.l1Size,
      },
    );
  }
  if (!(info.refcountOrder >= 0 && info.refcountOrder <= 6)) {
    throw new Qcow2Error(
      "INVALID_STRUCTURE",
      `refcount_order ${info.refcountOrder} is outside 0–6`,
      {
        field: "refcount_order",
        value: info.refcountOrder,
      },
    );
  }
}
