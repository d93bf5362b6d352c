import { formatQemuMapEntry, formatQemuMapJson, type MapExtent } from "@x/qcow2-core";
import type { Command } from "commander";
import type { Io } from "../context.js";
import { EXIT } from "../errors.js";
import { type ImageReadOptions, openForReading, withImageReadOptions } from "../image-open.js";
import { hex, safe } from "../views/format.js";

function state(e: MapExtent): string {
  if (e.data) return e.compressed ? "compressed" : "data";
  if (e.present) return "zero";
  return "unallocated";
}

/** One row of the readable map: fixed columns, so rows can be written as they come. */
export function mapTextRow(e: MapExtent): string {
  const offset = e.offset === undefined ? "-" : hex(e.offset);
  return `${hex(e.start).padEnd(18)}  ${hex(e.length).padEnd(18)}  ${String(e.depth).padEnd(5)}  ${state(e).padEnd(11)}  ${offset.padEnd(18)}  ${e.file === undefined ? "" : safe(e.file)}`.trimEnd();
}

export const MAP_TEXT_HEADER = `${"START".padEnd(18)}  ${"LENGTH".padEnd(18)}  ${"DEPTH".padEnd(5)}  ${"STATE".padEnd(11)}  ${"HOST OFFSET".padEnd(18)}  FILE`;

/** Writes `text` honouring back-pressure (the map of a large image is tens of MiB). */
async function write(io: Io, text: string): Promise<void> {
  if (!io.stdout.write(text))
    await new Promise<void>((done) => io.stdout.once("drain", () => done()));
}

export async function runMap(
  path: string,
  options: ImageReadOptions & { json?: boolean },
  io: Io,
): Promise<number> {
  const image = await openForReading(path, options);
  try {
    // Extents are written as they are found, in ~1 MiB batches: constant memory.
    let buffer = options.json ? "[" : `${MAP_TEXT_HEADER}\n`;
    let first = true;
    await image.mapEach((e) => {
      buffer += options.json
        ? `${first ? "" : ",\n"}${formatQemuMapEntry(e)}`
        : `${mapTextRow(e)}\n`;
      first = false;
      if (buffer.length <= 1 << 16) return undefined;
      const text = buffer;
      buffer = "";
      return write(io, text);
    });
    // qemu-img prints one empty extent for a disk of 0 bytes.
    if (first && options.json) buffer += formatQemuMapJson([]).slice(1, -2);
    await write(io, options.json ? `${buffer}]\n` : buffer);
  } finally {
    await image.close();
  }
  return EXIT.ok;
}

export function registerMap(program: Command, io: Io, setExit: (code: number) => void): void {
  withImageReadOptions(
    program
      .command("map")
      .description(
        "show how guest ranges map to host files: data, zeros, unallocated, and which chain layer holds them",
      )
      .argument("<image>", "QCOW/QCOW2 image file or http(s):// URL (opened read-only)")
      .option("--json", "print exactly what `qemu-img map --output=json` prints"),
  )
    .addHelpText(
      "after",
      "\nExamples:\n  $ qcow2-forensic map disk.qcow2\n  $ qcow2-forensic map --json overlay.qcow2 --backing-dir /evidence/bases\n  $ qcow2-forensic map --json https://evidence.example/case-7/overlay.qcow2   # its relative backing file is fetched from the same folder",
    )
    .action(async (path: string, options: ImageReadOptions & { json?: boolean }) => {
      setExit(await runMap(path, options, io));
    });
}
