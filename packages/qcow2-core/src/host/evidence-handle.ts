import { constants as fsConstants } from "node:fs";
import { Qcow2Error } from "../errors.js";
import { blockDeviceSize } from "./block-device-size.js";
import { assertImageFile } from "./file-kind.js";
import { closeFd, fstatBig, openFd, statOf } from "./fs-calls.js";

/**
 * The flags every evidence file is opened with: read-only, never created or
 * truncated, and non-blocking. O_NONBLOCK is there for one case only: a FIFO
 * put in a path's place between the type check and the open would otherwise
 * hold the open until a writer appears. Reads of regular files and block
 * devices do not heed it (Linux and macOS), so they read exactly as before.
 */
export const EVIDENCE_OPEN_FLAGS: number =
  fsConstants.O_RDONLY | ((fsConstants as { O_NONBLOCK?: number }).O_NONBLOCK ?? 0);

/** An evidence file or block device, open read-only, with its size. */
export interface EvidenceHandle {
  /** The open descriptor; closed with `closeFd`. */
  fd: number;
  /** Bytes: the file's length, or the whole device's. */
  size: number;
  /** True for a block device (a disk, partition, LVM volume, loop device). */
  blockDevice: boolean;
  /**
   * Names the bytes whatever path reached them (`ByteSource.identity`):
   * a file by device and inode, a block device by its device number, so
   * `/dev/<vg>/<lv>`, `/dev/mapper/<vg>-<lv>` and `/dev/dm-N` are one.
   */
  identity: string;
}

/**
 * Opens a regular file or block device read-only. Everything else is refused
 * before it is opened — opening a FIFO waits for a writer, and opening a
 * character device can act on it (a tape rewinds, a terminal becomes the
 * controlling one) — with a `SPECIAL_FILE` error (a directory: `IO`). The
 * open handle is typed again, so a path swapped in between is caught too;
 * O_NONBLOCK ({@link EVIDENCE_OPEN_FLAGS}) keeps that open from waiting.
 */
export async function openEvidenceHandle(path: string): Promise<EvidenceHandle> {
  try {
    assertImageFile(path, await statOf(path));
  } catch (cause) {
    throw asOpenError(path, cause);
  }
  let fd: number;
  try {
    fd = await openFd(path, EVIDENCE_OPEN_FLAGS);
  } catch (cause) {
    throw asOpenError(path, cause);
  }
  try {
    const st = await fstatBig(fd);
    assertImageFile(path, st);
    if (st.isBlockDevice())
      return {
        fd,
        size: await blockDeviceSize(fd, st.rdev),
        blockDevice: true,
        identity: `block:${st.rdev}`,
      };
    return {
      fd,
      size: Number(st.size),
      blockDevice: false,
      identity: `file:${st.dev}:${st.ino}`,
    };
  } catch (cause) {
    await closeFd(fd).catch(() => undefined);
    throw asOpenError(path, cause);
  }
}

function asOpenError(path: string, cause: unknown): Qcow2Error {
  if (cause instanceof Qcow2Error) return cause.withFile(path);
  return new Qcow2Error("IO", describeOpenError(path, cause), { file: path, cause });
}

function describeOpenError(path: string, cause: unknown): string {
  const code = (cause as { code?: string } | null)?.code;
  if (code === "ENOENT") return "no such file";
  if (code === "EACCES" || code === "EPERM") return "permission denied";
  if (code === "EISDIR") return "is a directory, not an image file";
  // Opening a socket (put in place after the type check) fails so.
  if (code === "ENXIO") return "is not an image file or block device (no such device or address)";
  return `cannot open ${path}: ${cause instanceof Error ? cause.message : String(cause)}`;
}
