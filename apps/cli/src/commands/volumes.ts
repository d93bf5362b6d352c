import { readVolumes, volumesToJson } from "@x/volumes";
import type { Command } from "commander";
import type { Io } from "../context.js";
import { EXIT } from "../exit.js";
import { type ImageReadOptions, openForReading, withImageReadOptions } from "../image-open.js";
import { displayPath } from "../remote.js";
import { safe } from "../views/format.js";
import { renderVolumesText } from "../views/volumes-text.js";

export async function runVolumes(
  path: string,
  options: ImageReadOptions & { json?: boolean },
  io: Io,
): Promise<number> {
  const image = await openForReading(path, options);
  try {
    const layout = await readVolumes(image);
    if (options.json) io.stdout.write(`${JSON.stringify(volumesToJson(layout), null, 2)}\n`);
    else {
      const state = `${options.snapshot === undefined ? "active disk" : `snapshot ${safe(options.snapshot)}`}${options.layerOnly ? ", layer only" : ""}`;
      io.stdout.write(renderVolumesText(`${safe(displayPath(path))} (${state})`, layout));
    }
  } finally {
    await image.close();
  }
  return EXIT.ok;
}

export function registerVolumes(program: Command, io: Io, setExit: (code: number) => void): void {
  withImageReadOptions(
    program
      .command("volumes")
      .description(
        "list the guest disk's partitions (as sfdisk does) and the filesystem or volume in each (as blkid does)",
      )
      .argument("<image>", "QCOW/QCOW2 image file or http(s):// URL (opened read-only)")
      .option(
        "--json",
        'print {"scheme", "filesystem", "partitions": [{"start", "length", "type", "name"?, "uuid"?, "filesystem"}], …}',
      ),
  )
    .addHelpText(
      "after",
      `
Partitions are listed as sfdisk --json lists them, in bytes; filesystems, labels and UUIDs as blkid -p prints
them (ext2/3/4, xfs, btrfs, ntfs, vfat, exfat, LVM2_member, crypto_LUKS, swap, swsuspend, BitLocker, iso9660).

Examples:
  $ qcow2-forensic volumes disk.qcow2
  $ qcow2-forensic volumes --snapshot before-update --json disk.qcow2
  $ qcow2-forensic volumes --passphrase-file key.txt encrypted.qcow2`,
    )
    .action(async (path: string, options: ImageReadOptions & { json?: boolean }) => {
      setExit(await runVolumes(path, options, io));
    });
}
