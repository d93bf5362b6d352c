import { constants } from "node:fs";
import { type FileHandle, open, stat } from "node:fs/promises";
import { isHttpUrl } from "@x/qcow2-core";
import { blockDeviceSize, deviceWriteConflict, specialFileKind } from "@x/qcow2-core/node";
import { CliError, EXIT } from "./exit.js";

/** Where a command's output goes. */
export type OutputTarget = "stdout" | "file" | "block-device";

/**
 * What `out` names, refusing what a command must not write to: an existing
 * file without `force`; a block device unless the command writes devices
 * (`blockDevices`) and `force` is given; a directory, FIFO, socket or
 * character device ever — the command writes a new file and renames it into
 * place, which would replace the device node or FIFO with a file.
 */
export async function outputTarget(
  out: string,
  options: { force?: boolean | undefined; blockDevices?: boolean },
): Promise<OutputTarget> {
  if (out === "-") return "stdout";
  const st = await stat(out).catch(() => null);
  if (st === null) return "file";
  if (st.isFile()) {
    if (!options.force)
      throw new CliError(`${out}: already exists (use --force to replace it)`, EXIT.usage);
    return "file";
  }
  if (st.isBlockDevice()) {
    if (!options.blockDevices)
      throw new CliError(
        `${out}: is a block device; write to a file, or to - (stdout)`,
        EXIT.usage,
      );
    if (!options.force)
      throw new CliError(
        `${out}: is a block device; use --force to write the disk over it in place (never over evidence)`,
        EXIT.usage,
      );
    return "block-device";
  }
  if (st.isDirectory())
    throw new CliError(`${out}: is a directory, not an output file`, EXIT.usage);
  throw new CliError(
    `${out}: is ${specialFileKind(st) ?? "not a regular file"}; write to - (stdout) and redirect to it instead`,
    EXIT.usage,
  );
}

/** A block device open for writing, with its size. */
export interface OutputDevice {
  handle: FileHandle;
  size: number;
}

async function refuseEvidence(out: string, rdev: bigint, evidence: readonly string[]) {
  const local = evidence.filter((name) => !isHttpUrl(name));
  const conflict = await deviceWriteConflict(rdev, local);
  if (conflict !== null)
    throw new CliError(`${out}: refusing to write to this device: ${conflict}`, EXIT.usage);
}

/**
 * Opens the block device `out` for writing the disk over it, unless writing
 * it would change any of `evidence` (the chain's files and devices, compared
 * by device and inode numbers: {@link deviceWriteConflict}), checked before
 * the device is opened for writing; the open handle must be that device.
 */
export async function openOutputDevice(
  out: string,
  evidence: readonly string[],
): Promise<OutputDevice> {
  const before = await stat(out, { bigint: true });
  await refuseEvidence(out, before.rdev, evidence);
  let handle: FileHandle;
  try {
    // O_EXCL on a block device: the kernel refuses (EBUSY) one that is mounted or held by
    // LVM, device-mapper or md. Read access too: where there is no sysfs, the size is found by reads.
    handle = await open(out, constants.O_RDWR | constants.O_EXCL);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === "EBUSY")
      throw new CliError(
        `${out}: the device is in use (mounted, or held by LVM, device-mapper or RAID); refusing to write to it`,
        EXIT.usage,
      );
    if (code === "EROFS" || code === "EACCES" || code === "EPERM")
      throw new CliError(
        `${out}: the device cannot be written (read-only or permission denied)`,
        EXIT.usage,
      );
    throw e;
  }
  try {
    const st = await handle.stat({ bigint: true });
    if (!st.isBlockDevice() || st.rdev !== before.rdev)
      throw new CliError(`${out}: changed while it was being opened; nothing written`, EXIT.usage);
    return { handle, size: await blockDeviceSize(handle.fd, st.rdev) };
  } catch (e) {
    await handle.close();
    throw e;
  }
}
