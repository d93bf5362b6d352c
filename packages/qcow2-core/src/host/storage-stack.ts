import { dirname } from "node:path";
import { deviceId, SYSFS_BLOCK } from "./block-device-size.js";
import { readdirOf, readText as readFileText, realpathOf, statBig } from "./fs-calls.js";

/** At most this many devices are followed down one stack (a real one has a handful). */
const MAX_STACK = 256;

/** What writing to a block device writes to, as far as the kernel tells (sysfs). */
export interface StorageStack {
  /**
   * Devices ("major:minor") whose bytes change when the device is written:
   * itself, the whole disk of a partition, the devices under a
   * device-mapper (LVM, dm-crypt) or md device, the device holding a loop
   * device's file — recursively.
   */
  devices: Set<string>;
  /** Files ("dev:inode") that a loop device of the stack reads and writes. */
  files: Set<string>;
}

async function readText(path: string): Promise<string | null> {
  return readFileText(path).then(
    (t) => t.trim(),
    () => null,
  );
}

/**
 * The {@link StorageStack} of the block device `rdev`, read from sysfs.
 * Where sysfs is missing (not Linux) the stack is the device alone.
 */
export async function storageBelow(
  rdev: bigint,
  sysfs: string = SYSFS_BLOCK,
): Promise<StorageStack> {
  const stack: StorageStack = { devices: new Set(), files: new Set() };
  const queue = [deviceId(rdev)];
  while (queue.length > 0 && stack.devices.size < MAX_STACK) {
    const id = queue.shift() as string;
    if (stack.devices.has(id)) continue;
    stack.devices.add(id);
    const dir = await realpathOf(`${sysfs}/${id}`).catch(() => null);
    if (dir === null) continue;
    // A partition's bytes are its disk's bytes.
    if ((await readText(`${dir}/partition`)) !== null) {
      const disk = await readText(`${dirname(dir)}/dev`);
      if (disk !== null) queue.push(disk);
    }
    for (const slave of await readdirOf(`${dir}/slaves`).catch(() => [] as string[])) {
      const below = await readText(`${dir}/slaves/${slave}/dev`);
      if (below !== null) queue.push(below);
    }
    const backing = await readText(`${dir}/loop/backing_file`);
    if (backing !== null) {
      const file = await statBig(backing).catch(() => null);
      if (file !== null) {
        stack.files.add(`${file.dev}:${file.ino}`);
        queue.push(deviceId(file.dev));
      }
    }
  }
  return stack;
}

/**
 * Why writing to the block device `outputRdev` would change any of the
 * local `evidence` files or devices, or `null` when it would not: it is an
 * evidence device, an evidence file or device is stored on it, it is stored
 * on an evidence device, or it is a loop device over an evidence file (or
 * over a file an evidence loop device reads). Identity is by device and
 * inode numbers, never by path, so other names of the same device
 * (`/dev/<vg>/<lv>`, `/dev/mapper/<vg>-<lv>`, `/dev/dm-N`) are caught.
 *
 * @example
 * ```ts
 * const reason = await deviceWriteConflict((await stat("/dev/sdc", { bigint: true })).rdev, ["/dev/loop0"]);
 * if (reason !== null) throw new Error(`refusing to write to /dev/sdc: ${reason}`);
 * ```
 */
export async function deviceWriteConflict(
  outputRdev: bigint,
  evidence: readonly string[],
  sysfs: string = SYSFS_BLOCK,
): Promise<string | null> {
  const output = deviceId(outputRdev);
  const written = await storageBelow(outputRdev, sysfs);
  for (const path of evidence) {
    const st = await statBig(path).catch(() => null);
    if (st === null) continue;
    if (st.isBlockDevice()) {
      const id = deviceId(st.rdev);
      if (id === output) return `it is the evidence device ${path}`;
      const below = await storageBelow(st.rdev, sysfs);
      if (below.devices.has(output)) return `the evidence device ${path} is stored on it`;
      if (written.devices.has(id)) return `it is stored on the evidence device ${path}`;
      for (const file of below.files)
        if (written.files.has(file))
          return `it and the evidence device ${path} are loop devices over the same file`;
    } else {
      const below = await storageBelow(st.dev, sysfs);
      if (below.devices.has(output)) return `the evidence file ${path} is stored on it`;
      if (written.files.has(`${st.dev}:${st.ino}`))
        return `it is a loop device over the evidence file ${path}`;
    }
  }
  return null;
}
