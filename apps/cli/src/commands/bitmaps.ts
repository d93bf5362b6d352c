import {
  type BitmapDirectory,
  type BitmapEntry,
  bitmapDistrust,
  bitmapExtents,
  inspect,
  readBitmaps,
} from "@x/qcow2-core";
import { openFileSource } from "@x/qcow2-core/node";
import type { Command } from "commander";
import type { Io } from "../context.js";
import { EXIT } from "../exit.js";
import { bytes, hex, safe } from "../views/format.js";

interface BitmapsOptions {
  json?: boolean;
}

/** Writes honouring back-pressure (a fragmented bitmap lists many extents). */
async function write(io: Io, text: string): Promise<void> {
  if (!io.stdout.write(text))
    await new Promise<void>((done) => io.stdout.once("drain", () => done()));
}

function flagNames(b: BitmapEntry): string[] {
  return [...(b.inUse ? ["in-use"] : []), ...(b.auto ? ["auto"] : [])];
}

/**
 * Lists the persistent dirty bitmaps and, for each one QEMU would trust,
 * the guest extents it marks dirty. Reads the image file's own metadata
 * only: no backing file, no passphrase needed.
 */
export async function runBitmaps(path: string, options: BitmapsOptions, io: Io): Promise<number> {
  const source = await openFileSource(path);
  try {
    const info = await inspect(source);
    const directory: BitmapDirectory =
      info.version === 1
        ? { bitmaps: [], consistent: true, problems: [] }
        : await readBitmaps(source, info);
    if (options.json) {
      await write(
        io,
        `{\n  "image": ${JSON.stringify(path)},\n  "virtualSize": ${info.virtualSize},\n  "consistent": ${directory.consistent},\n  "bitmaps": [`,
      );
    } else {
      await write(
        io,
        `${safe(path)}: ${directory.bitmaps.length} persistent dirty bitmap${directory.bitmaps.length === 1 ? "" : "s"}${directory.consistent ? "" : " (the bitmaps extension is marked inconsistent: a writer without bitmap support changed the image)"}\n`,
      );
    }
    let first = true;
    for (const b of directory.bitmaps) {
      const distrust = bitmapDistrust(directory, b);
      const head = {
        name: b.name,
        granularity: b.granularity,
        flags: flagNames(b),
        type: b.type === 1 ? "dirty-tracking" : `unknown (${b.type})`,
        tableOffset:
          b.bitmapTableOffset <= BigInt(Number.MAX_SAFE_INTEGER)
            ? Number(b.bitmapTableOffset)
            : b.bitmapTableOffset.toString(),
        tableSize: b.bitmapTableSize,
        directoryOffset: b.offset,
        trusted: distrust === null,
      };
      if (options.json) {
        const lead = JSON.stringify(head, null, 2).replace(/\n/g, "\n    ").slice(0, -6);
        await write(io, `${first ? "\n" : ",\n"}    ${lead},\n      "extents": `);
      } else {
        await write(
          io,
          `\n${safe(b.name)}: granularity ${b.granularity === null ? "invalid" : bytes(b.granularity)}, flags ${head.flags.join(",") || "none"}${b.auto ? " (enabled: tracks writes)" : " (disabled)"}\n`,
        );
      }
      first = false;
      let count = 0;
      let dirty = 0;
      let problem: string | null = distrust === null ? null : `not trusted: ${distrust}`;
      if (problem === null) {
        try {
          let firstExtent = true;
          for await (const r of bitmapExtents(source, info, directory, b)) {
            count++;
            dirty += r.length;
            if (options.json) {
              await write(
                io,
                `${firstExtent ? "[" : ", "}{"start": ${r.start}, "length": ${r.length}}`,
              );
            } else {
              if (firstExtent) await write(io, `  ${"START".padEnd(18)}  LENGTH\n`);
              await write(io, `  ${hex(r.start).padEnd(18)}  ${hex(r.length)}\n`);
            }
            firstExtent = false;
          }
          if (options.json) await write(io, firstExtent ? "[]" : "]");
        } catch (e) {
          // A bitmap QEMU would refuse (bad table, past the image's limits) is reported, not fatal.
          if (!(e instanceof Error) || e.name !== "Qcow2Error") throw e;
          problem = e.message;
          if (options.json) await write(io, count === 0 ? "null" : "]");
        }
      } else if (options.json) {
        await write(io, "null");
      }
      if (options.json) {
        await write(
          io,
          `,\n      "dirtyExtents": ${problem === null ? count : "null"},\n      "dirtyBytes": ${problem === null ? dirty : "null"},\n      "problem": ${JSON.stringify(problem)}\n    }`,
        );
      } else if (problem !== null) {
        await write(io, `  extents not shown: ${safe(problem)}\n`);
      } else {
        await write(io, `  ${count} dirty extent${count === 1 ? "" : "s"}, ${bytes(dirty)}\n`);
      }
    }
    if (options.json) {
      const problems = JSON.stringify(directory.problems.map((p) => p.message));
      await write(io, `${first ? "" : "\n  "}],\n  "problems": ${problems}\n}\n`);
    } else {
      for (const p of directory.problems) await write(io, `problem: ${safe(p.message)}\n`);
    }
  } finally {
    await source.close();
  }
  return EXIT.ok;
}

export function registerBitmaps(program: Command, io: Io, setExit: (code: number) => void): void {
  program
    .command("bitmaps")
    .description(
      "list the persistent dirty bitmaps: name, granularity, flags, and the guest extents each marks dirty",
    )
    .argument("<image>", "QCOW2 image file (opened read-only)")
    .option("--json", "print the bitmaps and their extents as JSON")
    .addHelpText(
      "after",
      `
A bitmap flagged in-use was not saved cleanly (QEMU was killed with the image open): its contents
are not trustworthy and its extents are not shown. Reads the image's own metadata only.

Examples:
  $ qcow2-forensic bitmaps disk.qcow2
  $ qcow2-forensic bitmaps --json disk.qcow2
  $ qcow2-forensic diff disk.qcow2 --bitmap backup-0   # the same extents, in the shape of a diff`,
    )
    .action(async (path: string, options: BitmapsOptions) => {
      setExit(await runBitmaps(path, options, io));
    });
}
