import { formatQemuMapJson, type MapExtent } from "@x/qcow2-core";
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

/** The readable map: one row per extent, sizes and offsets in hex. */
export function renderMapText(extents: readonly MapExtent[]): string {
  const rows = [["START", "LENGTH", "DEPTH", "STATE", "HOST OFFSET", "FILE"]];
  for (const e of extents) {
    rows.push([
      hex(e.start),
      hex(e.length),
      String(e.depth),
      state(e),
      e.offset === undefined ? "-" : hex(e.offset),
      e.file === undefined ? "" : safe(e.file),
    ]);
  }
  const widths = (rows[0] as string[]).map((_, i) =>
    Math.max(...rows.map((r) => (r[i] ?? "").length)),
  );
  return `${rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join("  ")
        .trimEnd(),
    )
    .join("\n")}\n`;
}

export async function runMap(
  path: string,
  options: ImageReadOptions & { json?: boolean },
  io: Io,
): Promise<number> {
  const image = await openForReading(path, options);
  try {
    const extents = await image.map();
    io.stdout.write(options.json ? formatQemuMapJson(extents) : renderMapText(extents));
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
      .argument("<image>", "QCOW/QCOW2 image file (opened read-only)")
      .option("--json", "print exactly what `qemu-img map --output=json` prints"),
  )
    .addHelpText(
      "after",
      "\nExamples:\n  $ qcow2-forensic map disk.qcow2\n  $ qcow2-forensic map --json overlay.qcow2 --backing-dir /evidence/bases",
    )
    .action(async (path: string, options: ImageReadOptions & { json?: boolean }) => {
      setExit(await runMap(path, options, io));
    });
}
