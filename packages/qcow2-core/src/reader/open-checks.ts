import { Qcow2Error } from "../errors.js";
import type { Qcow2Info } from "../inspect.js";
import { LIMITS } from "../limits.js";
import { assertRefcountOrder } from "../refcount-table.js";

/**
 * Refuses, with a typed error, what the reader cannot decode faithfully. The
 * lenient `inspect` reports the same facts without refusing. Unknown
 * incompatible bits make an image unreadable per the spec; unknown
 * compatible/autoclear bits are ignored.
 */
export function assertReadable(info: Qcow2Info, options: { decrypting?: boolean } = {}): void {
  const unsupported = (what: string, field: string, value: string | number) =>
    new Qcow2Error("UNSUPPORTED_FEATURE", `cannot read guest data: ${what}`, { field, value });

  if (info.encryptionMethod > 2) {
    throw unsupported(
      `unknown encryption method ${info.encryptionMethod}`,
      "crypt_method",
      info.encryptionMethod,
    );
  }
  if (info.encryptionMethod !== 0 && !options.decrypting) {
    throw new Qcow2Error(
      "PASSPHRASE_REQUIRED",
      `image is encrypted (${info.encryption}): a passphrase is needed to read guest data`,
      {
        field: "crypt_method",
        value: info.encryptionMethod,
      },
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
  if (info.compressionTypeName === "unknown") {
    throw unsupported(
      `unknown compression type ${info.compressionType}`,
      "compression_type",
      info.compressionType,
    );
  }
  if (info.clusterSize === null) {
    throw new Qcow2Error(
      "CLUSTER_BITS_OUT_OF_RANGE",
      `cluster_bits ${info.clusterBits} is outside the supported range`,
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
  if (info.version === 1) return;
  // QEMU refuses to open these headers at all (block/qcow2.c qcow2_do_open).
  const overrun = info.problems.find((p) => p.field === "header extension length");
  if (overrun)
    throw new Qcow2Error("INVALID_STRUCTURE", overrun.message, {
      field: overrun.field,
      value: overrun.value,
    });
  if (info.backingFile !== null && info.backingFile.size > LIMITS.maxBackingFileName) {
    throw new Qcow2Error(
      "INVALID_STRUCTURE",
      `backing file name too long (${info.backingFile.size} bytes)`,
      {
        field: "backing_file_size",
        value: info.backingFile.size,
      },
    );
  }
  if (info.version === 3 && info.headerLength < 104) {
    throw new Qcow2Error(
      "INVALID_STRUCTURE",
      `qcow2 header too short (header_length ${info.headerLength} < 104)`,
      {
        field: "header_length",
        value: info.headerLength,
      },
    );
  }
  if (info.headerLength > info.clusterSize) {
    throw new Qcow2Error(
      "INVALID_STRUCTURE",
      `qcow2 header exceeds cluster size (header_length ${info.headerLength})`,
      {
        field: "header_length",
        value: info.headerLength,
      },
    );
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
  assertRefcountOrder(info);
}
