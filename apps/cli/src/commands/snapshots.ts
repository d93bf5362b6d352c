import { stringifyQemuJson, toQemuSnapshotList } from "@x/qcow2-core";
import { type Command, Option } from "commander";
import type { Io } from "../context.js";
import { EXIT } from "../exit.js";
import { readImageFacts } from "../image-facts.js";
import { displayPath, type RemoteOptions, withRemoteOptions } from "../remote.js";
import { renderSnapshotsText } from "../views/snapshots-text.js";
import { formatFacts, snapshotCreated, sortFacts } from "../views/timeline.js";

const FORMATS = ["table", "json", "timeline", "bodyfile"] as const;
type Format = (typeof FORMATS)[number];

export async function runSnapshots(
  path: string,
  options: { json?: boolean; format: Format } & RemoteOptions,
  io: Io,
): Promise<number> {
  const { snapshots } = await readImageFacts(path, options);
  const shown = displayPath(path);
  const format = options.json ? "json" : options.format;
  if (format === "json") {
    io.stdout.write(`${stringifyQemuJson(toQemuSnapshotList(snapshots.snapshots))}\n`);
  } else if (format === "timeline" || format === "bodyfile") {
    const facts = sortFacts(snapshots.snapshots.map((s) => snapshotCreated(shown, s)));
    io.stdout.write(formatFacts(facts, format === "timeline" ? "csv" : "bodyfile"));
  } else {
    io.stdout.write(renderSnapshotsText(shown, snapshots));
  }
  if (snapshots.truncated) {
    io.stderr.write(
      `qcow2-forensic: ${shown}: snapshot table is truncated (${snapshots.snapshots.length} of ${snapshots.expected} entries)\n`,
    );
  }
  return EXIT.ok;
}

export function registerSnapshots(program: Command, io: Io, setExit: (code: number) => void): void {
  withRemoteOptions(program.command("snapshots"))
    .description("list the internal snapshots (id, name, date, VM clock, VM state size)")
    .argument("<image>", "QCOW2 image file or http(s):// URL (opened read-only)")
    .addOption(
      new Option(
        "-f, --format <format>",
        "table, json (qemu-img's snapshot keys), timeline (Timesketch CSV) or bodyfile (for Sleuth Kit's mactime)",
      )
        .choices(FORMATS)
        .default("table"),
    )
    .option("--json", "same as --format json")
    .addHelpText(
      "after",
      "\nExamples:\n  $ qcow2-forensic snapshots disk.qcow2\n  $ qcow2-forensic snapshots --json disk.qcow2\n  $ qcow2-forensic snapshots --format bodyfile disk.qcow2 >> body.txt && mactime -b body.txt\n  $ qcow2-forensic snapshots --format timeline disk.qcow2 > snapshots.csv   # import into Timesketch\n  $ qcow2-forensic snapshots https://evidence.example/case-7/disk.qcow2",
    )
    .action(async (path: string, options: { json?: boolean; format: Format } & RemoteOptions) => {
      setExit(await runSnapshots(path, options, io));
    });
}
