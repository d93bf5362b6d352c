import { toQemuSnapshotList } from "@x/qcow2-core";
import type { Command } from "commander";
import type { Io } from "../context.js";
import { EXIT } from "../errors.js";
import { readImageFacts } from "../image-facts.js";
import { renderSnapshotsText } from "../views/snapshots-text.js";

export async function runSnapshots(
  path: string,
  options: { json?: boolean },
  io: Io,
): Promise<number> {
  const { snapshots } = await readImageFacts(path);
  if (options.json)
    io.stdout.write(`${JSON.stringify(toQemuSnapshotList(snapshots.snapshots), null, 4)}\n`);
  else io.stdout.write(renderSnapshotsText(path, snapshots));
  if (snapshots.truncated)
    io.stderr.write(
      `qcow2-forensic: ${path}: snapshot table is truncated (${snapshots.snapshots.length} of ${snapshots.expected} entries)\n`,
    );
  return EXIT.ok;
}

export function registerSnapshots(program: Command, io: Io, setExit: (code: number) => void): void {
  program
    .command("snapshots")
    .description("list the internal snapshots (id, name, date, VM clock, VM state size)")
    .argument("<image>", "QCOW2 image file (opened read-only)")
    .option("--json", "print an array with qemu-img's snapshot keys")
    .addHelpText(
      "after",
      "\nExamples:\n  $ qcow2-forensic snapshots disk.qcow2\n  $ qcow2-forensic snapshots --json disk.qcow2",
    )
    .action(async (path: string, options: { json?: boolean }) => {
      setExit(await runSnapshots(path, options, io));
    });
}
