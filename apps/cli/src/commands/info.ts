import { stringifyQemuJson, toQemuImgInfo } from "@x/qcow2-core";
import type { Command } from "commander";
import type { Io } from "../context.js";
import { EXIT } from "../exit.js";
import { readImageFacts } from "../image-facts.js";
import { openForReading } from "../image-open.js";
import { displayPath, type RemoteOptions, withRemoteOptions } from "../remote.js";
import { renderInfoText } from "../views/info-text.js";
import { volumesSummary } from "../views/volumes-text.js";

/** Extra facts beyond qemu-img's, under a key qemu-img never prints. */
export const EXTRA_INFO_KEY = "qcow2-forensic";

/**
 * One line on the active disk's volumes, or why they could not be read (info
 * never fails for it). The volume reader loads here, for the text only:
 * `info --json` has no such line and starts without it.
 */
async function guestSummary(path: string, options: RemoteOptions): Promise<string> {
  try {
    const { readVolumes } = await import("@x/volumes");
    const image = await openForReading(path, options);
    try {
      return volumesSummary(await readVolumes(image));
    } finally {
      await image.close();
    }
  } catch (e) {
    // The reason without the file's name (the line is about this image), so a URL and its file agree.
    const reason =
      e instanceof Error ? e.message : (await import("../errors.js")).describeError(e).message;
    return `not read (${reason}; see qcow2-forensic volumes)`;
  }
}

export async function runInfo(
  path: string,
  options: { json?: boolean } & RemoteOptions,
  io: Io,
): Promise<number> {
  const facts = await readImageFacts(path, options);
  if (!options.json) {
    io.stdout.write(renderInfoText(displayPath(path), facts, await guestSummary(path, options)));
    return EXIT.ok;
  }
  const { info, snapshots, bitmaps, luks, actualSize } = facts;
  const qemu = toQemuImgInfo(info, {
    filename: displayPath(path),
    snapshots: snapshots.snapshots,
    bitmaps: bitmaps.bitmaps,
    bitmapsConsistent: bitmaps.consistent,
    luks,
    ...(actualSize === undefined ? {} : { actualSize }),
  });
  const extra = {
    version: info.version,
    "header-length": info.headerLength,
    "incompatible-features": info.incompatibleFeatures,
    "compatible-features": info.compatibleFeatures,
    "autoclear-features": info.autoclearFeatures,
    extensions: info.extensions,
    "feature-name-table": info.featureNameTable,
    "snapshot-table-truncated": snapshots.truncated,
    "qemu-refuses": facts.qemuRefusal?.message ?? null,
    problems: [...info.problems, ...snapshots.problems, ...bitmaps.problems],
    "out-of-range": [...info.outOfRange, ...snapshots.outOfRange],
  };
  io.stdout.write(`${stringifyQemuJson({ ...qemu, [EXTRA_INFO_KEY]: extra })}\n`);
  return EXIT.ok;
}

export function registerInfo(program: Command, io: Io, setExit: (code: number) => void): void {
  withRemoteOptions(program.command("info"))
    .description(
      "print the image's header facts (format, sizes, features, extensions, backing file)",
    )
    .argument("<image>", "QCOW/QCOW2 image file or http(s):// URL (opened read-only)")
    .option(
      "--json",
      'print the keys and values of `qemu-img info --output=json` (extra facts under "qcow2-forensic")',
    )
    .addHelpText(
      "after",
      "\nExamples:\n  $ qcow2-forensic info disk.qcow2\n  $ qcow2-forensic info --json disk.qcow2 | jq '.\"virtual-size\"'\n  $ qcow2-forensic info --header 'Authorization: Bearer …' https://evidence.example/case-7/disk.qcow2",
    )
    .action(async (path: string, options: { json?: boolean } & RemoteOptions) => {
      setExit(await runInfo(path, options, io));
    });
}
