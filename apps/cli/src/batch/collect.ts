import { lstat, open, readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { isHttpUrl } from "@x/qcow2-core";
import { EVIDENCE_OPEN_FLAGS } from "@x/qcow2-core/node";

const QCOW_MAGIC = Buffer.from([0x51, 0x46, 0x49, 0xfb]);

/** True when the file starts with the QCOW magic "QFI\xfb" (extensions are not trusted). */
export async function hasQcowMagic(path: string): Promise<boolean> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    // Non-blocking, and typed again once open: a FIFO swapped in after the walk's stat never holds it.
    handle = await open(path, EVIDENCE_OPEN_FLAGS);
    if (!isImageFile(await handle.stat())) return false;
    const head = Buffer.alloc(4);
    const { bytesRead } = await handle.read(head, 0, 4, 0);
    return bytesRead === 4 && head.equals(QCOW_MAGIC);
  } catch {
    return false;
  } finally {
    await handle?.close();
  }
}

/**
 * Files and block devices can hold an image. FIFOs, sockets and character
 * devices in a folder are skipped unopened: opening a FIFO waits for a
 * writer, and a device's open can act on it.
 */
function isImageFile(st: { isFile(): boolean; isBlockDevice(): boolean }): boolean {
  return st.isFile() || st.isBlockDevice();
}

async function walk(dir: string, recursive: boolean, out: string[]): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      // Symlinked folders are not followed: they could loop.
      if (recursive) await walk(path, recursive, out);
    } else if (
      // Links too: /dev/<vg>/<lv> are links to the volumes' device nodes.
      (entry.isFile() || entry.isBlockDevice() || entry.isSymbolicLink()) &&
      (await stat(path).then(isImageFile, () => false))
    ) {
      if (await hasQcowMagic(path)) out.push(path);
    }
  }
}

/**
 * Expands the command's arguments: files are kept as given (a non-QCOW file
 * or a special file is reported as an error); folders contribute the QCOW
 * files and block devices in them (an LVM volume group's folder, `/dev/<vg>/`),
 * picked by magic, all the way down with `recursive`. Sorted, each path once.
 */
export async function collectImages(
  args: readonly string[],
  recursive: boolean,
): Promise<string[]> {
  const out: string[] = [];
  for (const arg of args) {
    // A URL is one image; it is never looked up on the local disk.
    if (isHttpUrl(arg)) {
      out.push(arg);
      continue;
    }
    const st = await lstat(arg).catch(() => null);
    const isDir =
      st !== null &&
      (st.isDirectory() ||
        (st.isSymbolicLink() &&
          (await stat(arg).then(
            (s) => s.isDirectory(),
            () => false,
          ))));
    if (isDir) await walk(arg, recursive, out);
    else out.push(arg);
  }
  return [...new Set(out)].sort();
}
