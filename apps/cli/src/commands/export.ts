import { randomBytes } from "node:crypto";
import { type FileHandle, open, realpath, rename, stat, unlink } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import type { DiskChunk, Qcow2Image } from "@x/qcow2-core";
import type { Command } from "commander";
import type { Io } from "../context.js";
import { CliError, EXIT } from "../exit.js";
import { MultiHash, parseAlgorithms } from "../hashing.js";
import { type ImageReadOptions, openForReading, withImageReadOptions } from "../image-open.js";
import { openOutputDevice, outputTarget } from "../output-target.js";
import { startProgress } from "../progress.js";

interface ExportOptions extends ImageReadOptions {
  hash?: string;
  force?: boolean;
  quiet?: boolean;
  sync?: boolean;
}

const CHUNK = 4 * 1024 * 1024;
/**
 * All-zero blocks of this size in the data become holes, as qemu-img
 * convert's default `-S 4k` makes them: the output is as sparse as QEMU's.
 */
const HOLE_BLOCK = 4096;
/**
 * Zero runs the map reports from this length on are skipped unread; shorter
 * ones are read with their neighbours (fewer, larger reads) and found by
 * {@link nonZeroRuns}.
 */
const MIN_ZERO_RUN = 1024 * 1024;
const ZEROES = new Uint8Array(CHUNK);
const ZERO_BLOCK = Buffer.alloc(HOLE_BLOCK);

/**
 * The stretches of `chunk` to write: all of it but its all-zero
 * {@link HOLE_BLOCK}s, as few writes as possible.
 */
function nonZeroRuns(chunk: Uint8Array): Array<[number, number]> {
  const runs: Array<[number, number]> = [];
  // One view for the whole chunk: the block compares below allocate nothing.
  const view = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  for (let at = 0; at < chunk.length; at += HOLE_BLOCK) {
    const to = Math.min(chunk.length, at + HOLE_BLOCK);
    if (view.compare(ZERO_BLOCK, 0, to - at, at, to) === 0) continue;
    const last = runs[runs.length - 1];
    if (last !== undefined && last[1] === at) last[1] = to;
    else runs.push([at, to]);
  }
  return runs;
}

/**
 * Refuses to write over any file of the image's chain, by path or by
 * identity (a hard link is the same file): evidence is never written.
 */
async function assertNotEvidence(out: string, image: Qcow2Image): Promise<void> {
  let target: string;
  try {
    target = await realpath(out);
  } catch {
    return; // does not exist yet
  }
  const targetId = await fileId(target);
  for (const layer of image.layers) {
    const evidence = await realpath(layer.name).catch(() => resolve(layer.name));
    if (evidence === target || (targetId !== null && (await fileId(evidence)) === targetId))
      throw new CliError(`${out}: refusing to overwrite evidence file ${layer.name}`, EXIT.usage);
  }
}

async function fileId(path: string): Promise<string | null> {
  return stat(path, { bigint: true }).then(
    (s) => `${s.dev}:${s.ino}`,
    () => null,
  );
}

/**
 * Chunks whose writes may be in flight at once. The kernel copies each write
 * into the page cache on a libuv thread; several at once keep both cores
 * copying while the main thread reads ahead, as qemu-img's parallel requests do.
 */
const WRITES_IN_FLIGHT = 4;

/**
 * Writes the disk: to a regular file, leaving runs of zeros as holes
 * (`holes`); to a block device, every byte, zeros too — what the device held
 * before is not known to read as zeros.
 */
async function writeDisk(
  handle: FileHandle,
  image: Qcow2Image,
  onChunk: (chunk: DiskChunk) => void,
  { holes, durable }: { holes: boolean; durable: boolean },
): Promise<void> {
  const pending: Array<Promise<unknown>> = [];
  try {
    for await (const chunk of image.chunks({
      chunkSize: CHUNK,
      // Zero runs of the map from this long on are holes without being read.
      minZeroRun: MIN_ZERO_RUN,
      reuseBuffers: true,
      holdChunks: WRITES_IN_FLIGHT,
    })) {
      onChunk(chunk);
      const { bytes, offset } = chunk;
      if (bytes === null) {
        if (!holes)
          for (let at = 0; at < chunk.length; at += CHUNK)
            await handle.write(ZEROES, 0, Math.min(CHUNK, chunk.length - at), offset + at);
        continue;
      }
      const writes = holes
        ? nonZeroRuns(bytes).map(([from, to]) =>
            handle.write(bytes, from, to - from, offset + from),
          )
        : [handle.write(bytes, 0, bytes.length, offset)];
      const done = Promise.all(writes);
      // Seen now; the error surfaces when this chunk's turn to be awaited comes.
      done.catch(() => undefined);
      pending.push(done);
      // The chunk walk reuses a buffer once this many chunks have followed it.
      while (pending.length > WRITES_IN_FLIGHT) await pending.shift();
    }
    while (pending.length > 0) await pending.shift();
  } finally {
    // Never close the file under a write still in flight.
    await Promise.allSettled(pending);
  }
  // Trailing holes still count toward the size (a device keeps its own).
  if (holes) await handle.truncate(image.virtualSize);
  // Flushing doubles the time of a large export; like qemu-img convert, we leave it to the
  // kernel unless asked. The rename below already guarantees an interrupted run leaves no
  // complete-looking file.
  if (durable) await handle.sync();
}

/**
 * Writes the disk over the block device `out` in place (no temporary name: a
 * device node is not a file to rename over), after refusing any device
 * whose writing would change evidence or that is smaller than the disk.
 */
async function writeDevice(
  out: string,
  image: Qcow2Image,
  onChunk: (chunk: DiskChunk) => void,
  durable: boolean,
  io: Io,
): Promise<void> {
  const { handle, size } = await openOutputDevice(
    out,
    image.layers.map((layer) => layer.name),
  );
  try {
    if (size < image.virtualSize)
      throw new CliError(
        `${out}: the device holds ${size} bytes, fewer than the guest disk's ${image.virtualSize}`,
        EXIT.usage,
      );
    await writeDisk(handle, image, onChunk, { holes: false, durable });
  } finally {
    await handle.close();
  }
  if (size > image.virtualSize)
    io.stderr.write(
      `${out}: the device's last ${size - image.virtualSize} bytes (past the guest disk's ${image.virtualSize}) were left as they were\n`,
    );
}

async function writeStdout(
  io: Io,
  image: Qcow2Image,
  onChunk: (chunk: DiskChunk) => void,
): Promise<void> {
  const write = async (bytes: Uint8Array) => {
    if (!io.stdout.write(bytes))
      await new Promise<void>((done) => io.stdout.once("drain", () => done()));
  };
  // Fresh buffers: a stream may keep a chunk queued after write() returns.
  for await (const chunk of image.chunks({ chunkSize: CHUNK })) {
    onChunk(chunk);
    if (chunk.bytes !== null) {
      await write(chunk.bytes);
      continue;
    }
    // A fresh buffer per write: the stream may hold it until it drains.
    for (let left = chunk.length; left > 0; left -= CHUNK)
      await write(new Uint8Array(Math.min(CHUNK, left)));
  }
}

export async function runExport(
  path: string,
  out: string,
  options: ExportOptions,
  io: Io,
): Promise<number> {
  const algorithms = options.hash === undefined ? [] : parseAlgorithms(options.hash, "--hash");
  const target = await outputTarget(out, { force: options.force, blockDevices: true });
  const toStdout = target === "stdout";
  const image = await openForReading(path, options);
  const hash = new MultiHash(algorithms);
  const progress = startProgress(io, "export", image.virtualSize, options.quiet);
  let done = 0;
  const onChunk = ({ length, bytes }: DiskChunk) => {
    if (algorithms.length > 0) {
      if (bytes !== null) hash.update(bytes);
      else
        for (let left = length; left > 0; left -= CHUNK)
          hash.update(ZEROES.subarray(0, Math.min(CHUNK, left)));
    }
    done += length;
    progress.update(done);
  };
  let temp: string | undefined;
  const cleanup = () => {
    if (temp !== undefined) void unlink(temp).catch(() => undefined);
  };
  const onSignal = () => {
    cleanup();
    process.exit(130);
  };
  try {
    if (toStdout) {
      await writeStdout(io, image, onChunk);
    } else if (target === "block-device") {
      await writeDevice(out, image, onChunk, Boolean(options.sync), io);
    } else {
      await assertNotEvidence(out, image);
      // Written under a temporary name and renamed when complete, so an
      // interrupted export never leaves a file that looks whole.
      temp = join(
        dirname(resolve(out)),
        `.${basename(out)}.partial-${randomBytes(6).toString("hex")}`,
      );
      process.once("SIGINT", onSignal);
      process.once("SIGTERM", onSignal);
      const handle = await open(temp, "wx");
      try {
        await writeDisk(handle, image, onChunk, { holes: true, durable: Boolean(options.sync) });
      } finally {
        await handle.close();
      }
      await rename(temp, out);
      temp = undefined;
    }
    progress.finish();
  } catch (e) {
    cleanup();
    throw e;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await image.close();
  }
  const label = toStdout ? "-" : out;
  // With the data on stdout, hashes go to stderr.
  const sink = toStdout ? io.stderr : io.stdout;
  for (const [a, h] of Object.entries(hash.digest()))
    sink.write(`${a.toUpperCase()} (${label}) = ${h}\n`);
  return EXIT.ok;
}

export function registerExport(program: Command, io: Io, setExit: (code: number) => void): void {
  withImageReadOptions(
    program
      .command("export")
      .description("write the guest-visible disk as a raw image (sparse when the output is a file)")
      .argument("<image>", "QCOW/QCOW2 image file or http(s):// URL (opened read-only)")
      .argument("<out>", "output file, or - for stdout")
      .option("--hash <list>", "also print hashes of what was written: sha256, sha1, md5")
      .option(
        "-f, --force",
        "replace an existing output file, or write over a block device in place (never evidence)",
      )
      .option("--sync", "flush the output to disk before it takes its final name")
      .option("-q, --quiet", "no progress bar"),
  )
    .addHelpText(
      "after",
      "\nThe output equals `qemu-img convert -O raw`. A file is written to a temporary name and renamed when complete. A block device is written in place, zeros included, only with --force, and never one that holds, or is held by, the evidence (compared by device number, so every name of a device counts), nor one that is mounted or in use.\n\nExamples:\n  $ qcow2-forensic export disk.qcow2 disk.raw --hash sha256\n  $ qcow2-forensic export --snapshot before-update disk.qcow2 - | sha256sum\n  $ qcow2-forensic export --header 'Authorization: Bearer …' https://evidence.example/case-7/disk.qcow2 disk.raw\n  $ qcow2-forensic export --force /dev/ovirt-vg/3f2a… /dev/sdx   # onto a wiped target disk",
    )
    .action(async (path: string, out: string, options: ExportOptions) => {
      setExit(await runExport(path, out, options, io));
    });
}
