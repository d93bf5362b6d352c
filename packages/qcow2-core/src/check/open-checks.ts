import { Qcow2Error } from "../errors.js";
import type { Qcow2Info } from "../inspect.js";
import { qemuOpenRefusal } from "../qemu/open-refusal.js";

/**
 * Refuses, as `qemu-img check` does by failing to open the image, what QEMU
 * itself will not check (qcow2_do_open in check mode, which leaves the
 * snapshot table to the check), with QEMU's reason.
 */
export function assertCheckable(info: Qcow2Info, fileSize: number): void {
  const refusal = qemuOpenRefusal(info, "check");
  if (refusal !== null) {
    throw new Qcow2Error(refusal.code, refusal.message, {
      field: refusal.field,
      value: refusal.value,
    });
  }
  if (info.version === 1) {
    throw new Qcow2Error("UNSUPPORTED_FEATURE", "This image format does not support checks", {
      field: "version",
      value: 1,
    });
  }
  // Our own bound: the per-cluster accumulator is indexed by 31-bit numbers.
  const clusters = Math.ceil(fileSize / (info.clusterSize as number));
  if (clusters > 2 ** 31 - 1) {
    throw new Qcow2Error("LIMIT_EXCEEDED", "image file too large to check", {
      field: "file size",
      value: fileSize,
    });
  }
}
