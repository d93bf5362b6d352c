import {
  createReadStream,
  createWriteStream,
  mkdtempSync,
  rmSync,
  type WriteStream,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DiffStorage } from "@x/qcow2-core";
import { type Attribution, describeAttribution } from "@x/volumes";
import type { Io } from "../context.js";
import { bytes, hex, safe } from "./format.js";

/** A side of a diff as the output names it. */
export interface StateDescription {
  image: string;
  /** `active`, `snapshot:<id|name>`, `backing:<N>` or `bitmap:<name>`. */
  state: string;
  virtualSize: number;
  /** The file the state's disk starts at (a backing file, for `backing:N`). */
  file?: string;
  snapshot?: { id: string; name: string; date: string };
  bitmap?: { name: string; granularity: number; flags: string[] };
}

/** What the output says before the extents. */
export interface DiffHeader {
  from: StateDescription;
  to: StateDescription;
  granularity: number;
  /** `exact` (bytes compared), `metadata` (mappings only: a superset) or `bitmap` (a dirty bitmap). */
  method: "exact" | "metadata" | "bitmap";
}

/** One extent as printed: `from` is `null` for a bitmap's extents (the earlier state is not in the image). */
export interface OutputExtent {
  start: number;
  length: number;
  from: DiffStorage | null;
  to: DiffStorage;
}

export interface DiffTotals {
  extents: number;
  changedBytes: number;
  /** Guest bytes read (exact diffs). */
  bytesRead?: number;
  /** Guest bytes whose mappings differed (exact diffs). */
  candidateBytes?: number;
  /** The partitions the changed bytes fall in, by the later state's table (exact diffs). */
  attribution?: DiffAttribution;
}

/** {@link Attribution} by the later state's partition table. */
export interface DiffAttribution extends Attribution {
  /** The later state's partition scheme (`gpt`, `mbr` or `none`). */
  scheme: string;
  /** The two states' partition tables or signatures differ (`volumes` on each shows how). */
  tableChanged: boolean;
  /** The whole-disk filesystem when there is no table. */
  filesystem: { type: string; label: string | null; uuid: string | null } | null;
}

/** Where extents go as they are found. */
export interface DiffSink {
  extent(e: OutputExtent): Promise<void>;
  end(totals: DiffTotals): Promise<void>;
}

const NOTE_METADATA =
  "metadata only: every range whose mapping differs, a superset of the exact diff (run without --metadata-only for the exact sectors)";
const NOTE_BITMAP =
  "ranges the dirty bitmap marks as written since it was enabled (written, not necessarily changed)";

/** Writes honouring back-pressure, in batches. */
class Out {
  private buffer = "";
  constructor(private readonly io: Io) {}
  async write(text: string): Promise<void> {
    this.buffer += text;
    if (this.buffer.length >= 1 << 16) await this.flush();
  }
  async flush(): Promise<void> {
    const text = this.buffer;
    this.buffer = "";
    if (text !== "" && !this.io.stdout.write(text))
      await new Promise<void>((done) => this.io.stdout.once("drain", () => done()));
  }
}

export function diffSink(
  format: "text" | "json" | "jsonl" | "csv",
  header: DiffHeader,
  io: Io,
): DiffSink {
  if (format === "json") return jsonSink(header, io);
  if (format === "jsonl") return jsonlSink(header, io);
  if (format === "csv") return csvSink(io);
  return textSink(header, io);
}

function note(method: DiffHeader["method"]): string | undefined {
  return method === "metadata" ? NOTE_METADATA : method === "bitmap" ? NOTE_BITMAP : undefined;
}

function jsonSink(header: DiffHeader, io: Io): DiffSink {
  const out = new Out(io);
  let first = true;
  const lead = {
    from: header.from,
    to: header.to,
    granularity: header.granularity,
    exact: header.method === "exact",
    ...(note(header.method) === undefined ? {} : { note: note(header.method) }),
  };
  const opening = `${JSON.stringify(lead, null, 2).slice(0, -2)},\n  "extents": [`;
  let started = false;
  return {
    async extent(e) {
      if (!started) {
        started = true;
        await out.write(opening);
      }
      await out.write(`${first ? "\n" : ",\n"}    ${JSON.stringify(e)}`);
      first = false;
    },
    async end(totals) {
      if (!started) await out.write(opening);
      await out.write(first ? "],\n" : "\n  ],\n");
      const tail: Record<string, unknown> = {
        changedBytes: totals.changedBytes,
        extentCount: totals.extents,
      };
      if (totals.bytesRead !== undefined) tail.bytesRead = totals.bytesRead;
      if (totals.attribution !== undefined) tail.attribution = totals.attribution;
      await out.write(`${JSON.stringify(tail, null, 2).slice(2)}\n`);
      await out.flush();
    },
  };
}

function jsonlSink(header: DiffHeader, io: Io): DiffSink {
  const out = new Out(io);
  const lead = {
    type: "diff",
    from: header.from,
    to: header.to,
    granularity: header.granularity,
    exact: header.method === "exact",
    ...(note(header.method) === undefined ? {} : { note: note(header.method) }),
  };
  let started = false;
  const start = async () => {
    if (started) return;
    started = true;
    await out.write(`${JSON.stringify(lead)}\n`);
    await out.flush();
  };
  return {
    async extent(e) {
      await start();
      // One line per extent, flushed at once: a long comparison shows its first findings immediately.
      await out.write(`${JSON.stringify({ type: "extent", ...e })}\n`);
      await out.flush();
    },
    async end(totals) {
      await start();
      await out.write(`${JSON.stringify({ type: "summary", ...totals })}\n`);
      await out.flush();
    },
  };
}

const CSV_HEADER =
  "start,length,from_kind,from_depth,from_file,from_offset,from_compressed_length,to_kind,to_depth,to_file,to_offset,to_compressed_length\n";

function csvField(v: string | number | undefined): string {
  if (v === undefined) return "";
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function csvStorage(s: DiffStorage | null): string {
  if (s === null) return ",,,,";
  return [s.kind, s.depth, s.file, s.offset, s.compressedLength].map(csvField).join(",");
}

function csvSink(io: Io): DiffSink {
  const out = new Out(io);
  let started = false;
  return {
    async extent(e) {
      if (!started) {
        started = true;
        await out.write(CSV_HEADER);
      }
      await out.write(`${e.start},${e.length},${csvStorage(e.from)},${csvStorage(e.to)}\n`);
    },
    async end() {
      if (!started) await out.write(CSV_HEADER);
      await out.flush();
    },
  };
}

/** How a side stores an extent, in a few words. */
export function storageText(s: DiffStorage | null): string {
  if (s === null) return "-";
  let text: string = s.kind === "beyond-end" ? "beyond end" : s.kind;
  if (s.kind === "data") text += ` ${hex(s.offset as number)}`;
  if (s.kind === "compressed") text += ` ${hex(s.offset as number)}+${s.compressedLength}`;
  if (s.depth !== undefined && s.depth > 0) text += ` (depth ${s.depth})`;
  if (s.encrypted) text += " (encrypted)";
  return text;
}

const ROW_HEADER = `${"START".padEnd(18)}  ${"LENGTH".padEnd(18)}  ${"FROM".padEnd(36)}  TO`;

function row(e: OutputExtent): string {
  return `${hex(e.start).padEnd(18)}  ${hex(e.length).padEnd(18)}  ${storageText(e.from).padEnd(36)}  ${storageText(e.to)}`;
}

function describeState(s: StateDescription): string {
  let what = s.state;
  if (s.snapshot)
    what = `snapshot ${safe(s.snapshot.id)} "${safe(s.snapshot.name)}" (${s.snapshot.date})`;
  if (s.bitmap) what = `dirty bitmap "${safe(s.bitmap.name)}"`;
  const file = s.file !== undefined && s.file !== s.image ? ` = ${safe(s.file)}` : "";
  return `${safe(s.image)}, ${what}${file}, ${bytes(s.virtualSize)}`;
}

/** "where:" lines: the partitions (and filesystems) the changes fall in, by the later state's table. */
function whereLines(a: DiffAttribution | undefined): string[] {
  if (a === undefined || a.total.extents === 0) return [];
  const lines: string[] = [];
  // A bare disk (no table, no signature: a test image, a raw volume) has nothing to name.
  if (a.scheme === "none") {
    const fs = a.filesystem;
    if (fs !== null)
      lines.push(
        `no partition table: the whole disk is ${fs.type}${fs.label === null ? "" : ` \`${fs.label}\``}`,
      );
  } else lines.push(...describeAttribution(a));
  if (a.tableChanged)
    lines.push(
      "the partition table or a filesystem signature differs between the states (see volumes)",
    );
  return lines.map((l, i) => (i === 0 ? "where:" : "").padEnd(11) + safe(l));
}

/** Rows are spooled (to a temporary file past a few thousand) so the summary can come first in bounded memory. */
const MAX_ROWS_IN_MEMORY = 10_000;
const LARGEST = 5;

function textSink(header: DiffHeader, io: Io): DiffSink {
  const rows: string[] = [];
  let spool: { dir: string; path: string; stream: WriteStream } | null = null;
  const largest: OutputExtent[] = [];
  const keepLargest = (e: OutputExtent) => {
    if (largest.length === LARGEST && (largest[LARGEST - 1] as OutputExtent).length >= e.length)
      return;
    largest.push(e);
    largest.sort((a, b) => b.length - a.length || a.start - b.start);
    if (largest.length > LARGEST) largest.pop();
  };
  return {
    async extent(e) {
      keepLargest(e);
      rows.push(row(e));
      if (rows.length < MAX_ROWS_IN_MEMORY) return;
      if (spool === null) {
        const dir = mkdtempSync(join(tmpdir(), "qcow2-forensic-diff-"));
        const path = join(dir, "rows.txt");
        spool = { dir, path, stream: createWriteStream(path) };
      }
      const stream = spool.stream;
      if (!stream.write(`${rows.join("\n")}\n`))
        await new Promise<void>((done) => stream.once("drain", () => done()));
      rows.length = 0;
    },
    async end(totals) {
      const out = new Out(io);
      const lines = [
        `from:      ${describeState(header.from)}`,
        `to:        ${describeState(header.to)}`,
      ];
      if (header.method === "exact") {
        lines.push(
          `compared:  exactly, at ${header.granularity}-byte sectors; read ${bytes(totals.bytesRead ?? 0)} of guest data where the mappings differed (${bytes(totals.candidateBytes ?? 0)} of the disk)`,
        );
      } else {
        lines.push(`compared:  ${note(header.method)}`);
      }
      const bound = header.method === "exact" ? "" : "at most ";
      lines.push(
        totals.extents === 0
          ? `result:    identical${header.method === "exact" ? "" : " (no range differs)"}`
          : `result:    ${totals.extents} extent${totals.extents === 1 ? "" : "s"}, ${bound}${bytes(totals.changedBytes)} ${header.method === "bitmap" ? "dirty" : "changed"}`,
      );
      if (largest.length > 0)
        lines.push(
          `largest:   ${largest.map((e) => `${hex(e.start)} +${bytes(e.length).replace(/ \(.*\)$/, "")}`).join(", ")}`,
        );
      lines.push(...whereLines(totals.attribution));
      await out.write(`${lines.join("\n")}\n`);
      if (totals.extents > 0) {
        await out.write(`\n${ROW_HEADER}\n`);
        if (spool !== null) {
          const s: { dir: string; path: string; stream: WriteStream } = spool;
          await new Promise<void>((done, fail) =>
            s.stream.end((e?: Error | null) => (e ? fail(e) : done())),
          );
          try {
            await out.flush();
            for await (const chunk of createReadStream(s.path, { encoding: "utf8" }))
              await out.write(chunk as string);
          } finally {
            rmSync(s.dir, { recursive: true, force: true });
          }
        }
        if (rows.length > 0) await out.write(`${rows.join("\n")}\n`);
      }
      await out.flush();
    },
  };
}
