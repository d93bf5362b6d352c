import { Qcow2Error } from "../errors.js";
import { readFd, readText } from "./fs-calls.js";

/** Where the kernel describes block devices (`/sys/dev/block/<major>:<minor>`). */
export const SYSFS_BLOCK = "/sys/dev/block";

/**
 * Major and minor number of a device number as Linux encodes them in
 * `st_rdev` (glibc's `gnu_dev_major`/`gnu_dev_minor`: 12 + 20 bits of major,
 * 20 + 12 of minor, split around the low 8 bits of the minor).
 */
export function deviceNumbers(rdev: bigint): { major: bigint; minor: bigint } {
  return {
    major: ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn),
    minor: (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn),
  };
}

/** `"<major>:<minor>"`, as sysfs names a block device. */
export function deviceId(rdev: bigint): string {
  const { major, minor } = deviceNumbers(rdev);
  return `${major}:${minor}`;
}

/**
 * The device's size as the kernel counts it, from
 * `/sys/dev/block/<major>:<minor>/size` (in 512-byte units whatever the
 * device's logical block size); `null` where there is no such file (not
 * Linux, or no sysfs mounted, as in some containers).
 */
export async function sysfsBlockDeviceSize(
  rdev: bigint,
  sysfs: string = SYSFS_BLOCK,
): Promise<number | null> {
  let text: string;
  try {
    text = await readText(`${sysfs}/${deviceId(rdev)}/size`);
  } catch {
    return null;
  }
  if (!/^\d{1,20}\n?$/.test(text)) return null;
  const bytes = BigInt(text.trim()) * 512n;
  if (bytes > BigInt(Number.MAX_SAFE_INTEGER))
    throw new Qcow2Error("OUT_OF_RANGE", `block device of ${bytes} bytes is too large to address`, {
      value: bytes,
    });
  return Number(bytes);
}

/**
 * The size of a source that reads 0 bytes at and past its end, found by
 * reads alone: doubling from 4 KiB until a one-byte read comes back empty,
 * then bisecting — about 2 × log2(size) reads, none past what a read of the
 * device would do anyway.
 *
 * @example
 * ```ts
 * const size = await probeEnd(async (at) => readSync(fd, Buffer.alloc(1), 0, 1, at) === 1);
 * ```
 */
export async function probeEnd(hasByteAt: (position: number) => Promise<boolean>): Promise<number> {
  if (!(await hasByteAt(0))) return 0;
  // lo: a position known to hold a byte; hi: one known to be past the end.
  let lo = 0;
  let hi = 4096;
  while (await hasByteAt(hi)) {
    lo = hi;
    if (hi > Number.MAX_SAFE_INTEGER / 2)
      throw new Qcow2Error("OUT_OF_RANGE", "block device is too large to address", {
        value: hi,
      });
    hi *= 2;
  }
  while (hi - lo > 1) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (await hasByteAt(mid)) lo = mid;
    else hi = mid;
  }
  return hi;
}

/**
 * The size of the block device open as `handle` (device number `rdev`).
 * `fstat` reports 0 for a block device, so the size comes from elsewhere,
 * without writing anything: first the kernel's own count in sysfs — the
 * number the BLKGETSIZE64 ioctl gives, which Node cannot issue, read from a
 * file that is not the device — and where sysfs is missing, the end found by
 * one-byte reads of the device ({@link probeEnd}), which works on any system
 * whose block devices read 0 bytes past their end.
 *
 * @example
 * ```ts
 * const fd = openSync("/dev/loop0", EVIDENCE_OPEN_FLAGS);
 * const size = await blockDeviceSize(fd, fstatSync(fd, { bigint: true }).rdev);
 * ```
 */
export async function blockDeviceSize(
  fd: number,
  rdev: bigint,
  sysfs: string = SYSFS_BLOCK,
): Promise<number> {
  const counted = await sysfsBlockDeviceSize(rdev, sysfs);
  if (counted !== null) return counted;
  const one = new Uint8Array(1);
  return probeEnd(async (at) => (await readFd(fd, one, 0, 1, at)) === 1);
}
