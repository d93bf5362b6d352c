import { formatQemuMapEntry, formatQemuMapJson, type MapExtent } from "@x/qcow2-core";
import { drawGuestMap, drawHostMap } from "@x/qcow2-forensic";
import { renderSvgDocument } from "@x/report";
import { type Command, Option } from "commander";
import type { Io } from "../context.js";
import { CliError, EXIT } from "../exit.js";
import {
  type ImageReadOptions,
  openEvidence,
  openForReading,
  withImageReadOptions,
} from "../image-open.js";
import { displayPath } from "../remote.js";
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

const FORMATS = ["text", "json", "svg"] as const;

/** What `map` takes. */
export interface MapOptions extends ImageReadOptions {
  json?: boolean;
  format?: (typeof FORMATS)[number];
}

/** The host-file map and the guest map of the chosen state, as one SVG document. */
async function runMapSvg(path: string, options: ImageReadOptions, io: Io): Promise<number> {
  const image = await openForReading(path, options);
  const source = await openEvidence(path, options).catch(async (e) => {
    await image.close();
    throw e;
  });
  let host: Awaited<ReturnType<typeof drawHostMap>>;
  try {
    host = await drawHostMap(source);
  } finally {
    await source.close();
  }
  const guest = await drawGuestMap(async () => image);
  const shown = displayPath(path);
  io.stdout.write(renderSvgDocument([host, guest], `Maps of ${shown}`));
  // A picture that could not be drawn says why inside the SVG; scripts hear it here too.
  for (const figure of [host, guest])
    if (figure.kind === "note")
      io.stderr.write(
        `qcow2-forensic: ${safe(shown)}: ${safe(figure.title)} ${safe(figure.text)}\n`,
      );
  return guest.kind === "note" ? EXIT.unreadable : EXIT.ok;
}

export async function runMap(path: string, options: MapOptions, io: Io): Promise<number> {
  if (options.json && options.format !== undefined && options.format !== "json")
    throw new CliError(`--json contradicts --format ${options.format}`, EXIT.usage);
  if (options.format === "svg") return runMapSvg(path, options, io);
  if (options.format === "json") options.json = true;
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
      .option("--json", "print exactly what `qemu-img map --output=json` prints")
      .addOption(
        new Option(
          "-f, --format <format>",
          "text (default), json (= --json), or svg: the host-file map and the guest map drawn as one SVG",
        ).choices(FORMATS),
      ),
  )
    .addHelpText(
      "after",
      `
The SVG holds two pictures of the image, each a grid of at most 1,024 cells whatever its size: the host file
(clusters by owner: header, L1/L2 tables, refcounts, snapshot tables, data, compressed, unused, and leaked,
orphaned, overlapping clusters and references past the end of the file), and the guest disk of the chosen state
(--snapshot, --layer-only) with the chain layer that supplies each range. Legends and colours are in the picture.

Examples:
  $ qcow2-forensic map disk.qcow2
  $ qcow2-forensic map --json overlay.qcow2 --backing-dir /evidence/bases
  $ qcow2-forensic map --json https://evidence.example/case-7/overlay.qcow2   # its relative backing file is fetched from the same folder
  $ qcow2-forensic map --format svg --snapshot before-update disk.qcow2 > disk-maps.svg`,
    )
    .action(async (path: string, options: MapOptions) => {
      setExit(await runMap(path, options, io));
    });
}
