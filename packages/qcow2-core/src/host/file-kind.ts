import type { BigIntStats, Stats } from "node:fs";
import { Qcow2Error } from "../errors.js";

/**
 * What `stats` describe when it cannot hold an image: a FIFO, a socket, a
 * character device (or anything else that is neither a regular file, a
 * block device nor a directory), in words for a one-line error; `null` for a
 * regular file, a block device or a directory.
 *
 * @example
 * ```ts
 * specialFileKind(await stat("/dev/tty")); // "a character device"
 * ```
 */
export function specialFileKind(stats: Stats | BigIntStats): string | null {
  if (stats.isFile() || stats.isBlockDevice() || stats.isDirectory()) return null;
  if (stats.isFIFO()) return "a FIFO (named pipe)";
  if (stats.isSocket()) return "a socket";
  if (stats.isCharacterDevice()) return "a character device";
  return "a file of an unknown kind";
}

/**
 * Throws unless `stats` describe a regular file or a block device: a
 * directory is an `IO` error (as the operating system's own EISDIR), a FIFO,
 * socket or character device a `SPECIAL_FILE` error, both naming `path`.
 */
export function assertImageFile(path: string, stats: Stats | BigIntStats): void {
  if (stats.isDirectory())
    throw new Qcow2Error("IO", "is a directory, not an image file", { file: path });
  const kind = specialFileKind(stats);
  if (kind !== null)
    throw new Qcow2Error("SPECIAL_FILE", `is ${kind}, not an image file or block device`, {
      file: path,
      value: kind,
    });
}
