import { Qcow2Error } from "../errors.js";
import type { Qcow2Info } from "../inspect.js";
import { qemuOpenRefusal } from "../qemu/open-refusal.js";
import type { SnapshotTable } from "../snapshots.js";

/**
 * Refuses, with a typed error carrying QEMU's own message, every image QEMU
 * will not open for reading (qemu-img info, map, convert), and asks for a
 * passphrase where the guest data is encrypted. The lenient `inspect`
 * reports the same facts without refusing.
 */
export function assertReadable(
  info: Qcow2Info,
  options: { decrypting?: boolean; snapshots?: SnapshotTable } = {},
): void {
  const refusal = qemuOpenRefusal(info, "read", options.snapshots);
  if (refusal !== null) {
    throw new Qcow2Error(refusal.code, refusal.message, {
      field: refusal.field,
      value: refusal.value,
    });
  }
  if (info.encryptionMethod > 2) {
    throw new Qcow2Error(
      "UNSUPPORTED_FEATURE",
      `cannot read guest data: unknown encryption method ${info.encryptionMethod}`,
      { field: "crypt_method", value: info.encryptionMethod },
    );
  }
  if (info.encryptionMethod !== 0 && !options.decrypting) {
    throw new Qcow2Error(
      "PASSPHRASE_REQUIRED",
      `image is encrypted (${info.encryption}): a passphrase is needed to read guest data`,
      { field: "crypt_method", value: info.encryptionMethod },
    );
  }
  // The reader addresses the disk with exact numbers: a virtual size beyond
  // 2^53 (which only 2 MiB-cluster images can even declare) is refused.
  const size = info.outOfRange.find((f) => f.field === "size");
  if (size !== undefined) {
    throw new Qcow2Error("OUT_OF_RANGE", `size = ${size.value} exceeds 2^53-1`, {
      field: "size",
      value: size.value,
    });
  }
}
