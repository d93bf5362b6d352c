import { isHttpSource, type Qcow2Image } from "@x/qcow2-core";
import type { Command } from "commander";
import { containerFacts } from "../container.js";
import type { Io } from "../context.js";
import { EXIT } from "../exit.js";
import { ThreadedHash } from "../hash-thread/threaded-hash.js";
import { type HashAlgorithm, MultiHash, parseAlgorithms } from "../hashing.js";
import { type ImageReadOptions, openForReading, withImageReadOptions } from "../image-open.js";
import { startProgress } from "../progress.js";
import { displayPath } from "../remote.js";
import { safe } from "../views/format.js";

interface HashOptions extends ImageReadOptions {
  algorithm: string;
  container?: boolean;
  json?: boolean;
  quiet?: boolean;
}

/**
 * Chunks of 1 MiB, and zero runs from 256 KiB hashed as zeros without being
 * read: the ring of chunk buffers is fresh memory, which costs about 4 ms per
 * MiB to touch on the bench machine, and a sparse disk (an overlay chain, a
 * few writes in each layer) would otherwise read and zero-fill whole 4 MiB
 * chunks around each write through every layer. Measured against 4 MiB and
 * whole-chunk zero runs: a 32-overlay chain 0.45 → 0.36 s, zlib and zstd
 * 1 GiB 3.5 → 3.3 s and 4.0 → 3.6 s, a fully allocated 1 GiB the same.
 */
const CHUNK = 1 * 1024 * 1024;
const MIN_ZERO_RUN = 256 * 1024;
/**
 * A guest read over HTTP from this size on is digested on a worker thread
 * while the next chunks arrive: a socket's bytes are copied in on the main
 * thread, where SHA-256 would otherwise run too (1 GiB over loopback here:
 * 1.36–1.44 s against 1.45–1.59 s). A local file is read on libuv's thread
 * pool beside the hashing already; there the thread's start-up cost more than
 * it saved (1.05 s against 0.93 s), and small guests are not worth a thread.
 * Chunks the worker holds: one being hashed, two queued.
 */
const THREADED_FROM = 64 * 1024 * 1024;
const THREAD_HOLD = 3;

/** Where the chunks go: a thread for a large guest over HTTP, else this thread. */
type DigestSink = Pick<ThreadedHash, "update" | "zeros" | "settle" | "digest" | "close">;

function onThisThread(hash: MultiHash): DigestSink {
  return {
    update: (bytes) => hash.update(bytes),
    zeros: (length) => hash.zeros(length),
    settle: async () => undefined,
    digest: async () => hash.digest(),
    close: async () => undefined,
  };
}

export async function runHash(path: string, options: HashOptions, io: Io): Promise<number> {
  const algorithms = parseAlgorithms(options.algorithm, "--algorithm");
  const image = await openForReading(path, options);
  let guest: Record<string, string>;
  let virtualSize: number;
  let container: Record<string, string> | undefined;
  try {
    virtualSize = image.virtualSize;
    const progress = startProgress(io, "hash", virtualSize, options.quiet);
    const threaded =
      isHttpSource(image.source) && virtualSize >= THREADED_FROM
        ? await ThreadedHash.start(algorithms)
        : null;
    const sink = threaded ?? onThisThread(new MultiHash(algorithms));
    try {
      let done = 0;
      const chunks = image.chunks({
        chunkSize: CHUNK,
        reuseBuffers: true,
        minZeroRun: MIN_ZERO_RUN,
        ...(threaded === null ? {} : { sharedBuffers: true, holdChunks: THREAD_HOLD }),
      });
      for await (const { length, bytes } of chunks) {
        if (bytes !== null) sink.update(bytes);
        else sink.zeros(length);
        done += length;
        progress.update(done);
        // On a thread, the next chunk reuses the buffer of the oldest one held: it must be hashed by then.
        await sink.settle(THREAD_HOLD - 1);
      }
      guest = await sink.digest();
    } catch (e) {
      await sink.close();
      throw e;
    }
    progress.finish();
    if (options.container) container = await hashContainer(image, algorithms, io, options);
  } finally {
    await image.close();
  }
  const shown = displayPath(path);
  if (options.json) {
    const out = {
      path: shown,
      "virtual-size": virtualSize,
      snapshot: options.snapshot ?? null,
      "layer-only": Boolean(options.layerOnly),
      guest,
      ...(container === undefined ? {} : { container }),
    };
    io.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  } else {
    const what = `guest disk of ${safe(shown)}${options.snapshot === undefined ? "" : ` at snapshot ${safe(options.snapshot)}`}${options.layerOnly ? " (layer only)" : ""}`;
    for (const [a, h] of Object.entries(guest))
      io.stdout.write(`${a.toUpperCase()} (${what}) = ${h}\n`);
    for (const [a, h] of Object.entries(container ?? {}))
      io.stdout.write(`${a.toUpperCase()} (${safe(shown)}) = ${h}\n`);
  }
  return EXIT.ok;
}

/** Hashes the evidence file itself (read-only): as it sits on disk (a block device whole), or streamed whole once from its URL. */
async function hashContainer(
  image: Qcow2Image,
  algorithms: readonly HashAlgorithm[],
  io: Io,
  options: HashOptions,
): Promise<Record<string, string>> {
  const remote = isHttpSource(image.source);
  const progress = startProgress(
    io,
    remote ? "container (streaming the whole object over HTTP once)" : "container",
    image.source.size,
    options.quiet,
  );
  const facts = await containerFacts(image.source, algorithms, (done) => progress.update(done));
  progress.finish();
  return facts.hashes;
}

export function registerHash(program: Command, io: Io, setExit: (code: number) => void): void {
  withImageReadOptions(
    program
      .command("hash")
      .description("hash the guest-visible disk (and, with --container, the image file itself)")
      .argument("<image>", "QCOW/QCOW2 image file or http(s):// URL (opened read-only)")
      .option("-a, --algorithm <list>", "comma-separated: sha256, sha1, md5", "sha256")
      .option("--container", "also hash the image file as stored")
      .option("--json", "print the hashes as JSON")
      .option("-q, --quiet", "no progress bar"),
  )
    .addHelpText(
      "after",
      "\nThe guest hash equals `qemu-img convert -O raw` followed by sha256sum.\n\nExamples:\n  $ qcow2-forensic hash disk.qcow2\n  $ qcow2-forensic hash --algorithm sha256,md5 --container --json disk.qcow2\n  $ qcow2-forensic hash --container https://evidence.example/case-7/disk.qcow2   # the container is streamed once",
    )
    .action(async (path: string, options: HashOptions) => {
      setExit(await runHash(path, options, io));
    });
}
