import {
  type BitmapEntry,
  backingView,
  bitmapExtents,
  type DiffExtent,
  type DiffStats,
  type DiskView,
  defaultFromState,
  describeRanges,
  diffExtents,
  diffGranularity,
  findBitmap,
  formatStateRef,
  isQcow2Error,
  parseStateRef,
  type Qcow2Image,
  type Qcow2Snapshot,
  readBitmaps,
  readSnapshots,
  type StateRef,
  viewDisk,
} from "@x/qcow2-core";
import {
  compareLayouts,
  ExtentAttributor,
  isVolumesError,
  readVolumes,
  type VolumeLayout,
} from "@x/volumes";
import { type Command, Option } from "commander";
import type { Io } from "../context.js";
import { CliError, EXIT } from "../exit.js";
import { openWithPassphrases } from "../image-open.js";
import { type PassphraseOptions, readPassphrases, withPassphraseOptions } from "../passphrase.js";
import { startProgress } from "../progress.js";
import { type DiffHeader, diffSink, type StateDescription } from "../views/diff-output.js";
import { isoDate } from "../views/format.js";

const FORMATS = ["text", "json", "jsonl", "csv"] as const;
type Format = (typeof FORMATS)[number];

interface DiffOptions extends PassphraseOptions {
  from?: string;
  to?: string;
  metadataOnly?: boolean;
  format: Format;
  json?: boolean;
  bitmap?: string;
  granularity?: string;
  backingDir?: string;
  quiet?: boolean;
}

/** Exit codes of `qemu-img compare`: 0 identical, 1 different (2 usage and 3 unreadable as everywhere). */
const EXIT_DIFFERENT = 1;

/** Opens each image (and snapshot view) once; closes them all at the end. */
class Opened {
  private readonly images = new Map<string, Promise<Qcow2Image>>();

  constructor(
    private readonly base: { backingDir?: string },
    private readonly passphrases: readonly Uint8Array[],
  ) {}

  open(path: string, snapshot?: string): Promise<Qcow2Image> {
    const key = `${path}\0${snapshot ?? ""}`;
    let image = this.images.get(key);
    if (image === undefined) {
      image = openWithPassphrases(
        path,
        { ...this.base, ...(snapshot === undefined ? {} : { snapshot }) },
        this.passphrases,
      ).catch((e: unknown) => {
        if (isQcow2Error(e) && e.code === "SNAPSHOT_NOT_FOUND")
          throw new CliError(`${path}: ${e.message}`, EXIT.usage);
        throw e;
      });
      this.images.set(key, image);
    }
    return image;
  }

  async closeAll(): Promise<void> {
    for (const image of this.images.values()) {
      const opened = await image.catch(() => null);
      await opened?.close();
    }
  }
}

function parseState(text: string, option: string): StateRef {
  const ref = parseStateRef(text);
  if (ref === undefined) {
    throw new CliError(
      `${option} ${JSON.stringify(text)}: expected active, snapshot:<id or name> or backing:<N>`,
      EXIT.usage,
    );
  }
  return ref;
}

/** The view of `path` in state `ref`, and how the output names it. */
async function openState(
  opened: Opened,
  path: string,
  ref: StateRef,
): Promise<{ view: DiskView; description: StateDescription }> {
  const state = formatStateRef(ref);
  if (ref.kind === "snapshot") {
    const image = await opened.open(path, ref.snapshot);
    const s = image.snapshot as Qcow2Snapshot;
    return {
      view: image,
      description: {
        image: path,
        state,
        virtualSize: image.virtualSize,
        snapshot: { id: s.id, name: s.name, date: isoDate(s.dateSec, s.dateNsec) },
      },
    };
  }
  const image = await opened.open(path);
  if (ref.kind === "active")
    return { view: image, description: { image: path, state, virtualSize: image.virtualSize } };
  const backing = image.layers.length - 1;
  if (ref.depth > backing) {
    throw new CliError(
      `${path} has ${backing === 0 ? "no backing file" : `${backing} backing file${backing === 1 ? "" : "s"}`}: ${state} does not exist`,
      EXIT.usage,
    );
  }
  const view = backingView(image, ref.depth);
  return {
    view,
    description: {
      image: path,
      state,
      virtualSize: view.virtualSize,
      file: view.layers[0]?.name ?? path,
    },
  };
}

function parseGranularity(text: string | undefined): number {
  if (text === undefined) return 512;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1 || n > 1 << 20 || (n & (n - 1)) !== 0)
    throw new CliError(
      `--granularity ${text}: expected a power of two from 1 to 1048576`,
      EXIT.usage,
    );
  return n;
}

export async function runDiff(
  path: string,
  other: string | undefined,
  options: DiffOptions,
  io: Io,
): Promise<number> {
  const format: Format = options.json ? "json" : options.format;
  const granularity = parseGranularity(options.granularity);
  if (
    options.bitmap !== undefined &&
    (other !== undefined || options.from !== undefined || options.to !== undefined)
  )
    throw new CliError(
      "--bitmap shows one image's bitmap: it takes no second image, --from or --to",
      EXIT.usage,
    );
  if (options.bitmap !== undefined && options.metadataOnly)
    throw new CliError("--bitmap reads no guest data anyway: drop --metadata-only", EXIT.usage);
  const fromRef = options.from === undefined ? undefined : parseState(options.from, "--from");
  const toRef = parseState(options.to ?? "active", "--to");
  const opened = new Opened(
    options.backingDir === undefined ? {} : { backingDir: options.backingDir },
    await readPassphrases(options),
  );
  try {
    if (options.bitmap !== undefined)
      return await runBitmap(opened, path, options.bitmap, format, io);
    let from: { view: DiskView; description: StateDescription };
    let to: { view: DiskView; description: StateDescription };
    if (other !== undefined) {
      from = await openState(opened, path, fromRef ?? { kind: "active" });
      to = await openState(opened, other, toRef);
    } else {
      let ref = fromRef;
      if (ref === undefined) {
        const image = await opened.open(path);
        const snapshots =
          image.info.version === 1 ? [] : (await readSnapshots(image.source, image.info)).snapshots;
        ref = defaultFromState(image.info, snapshots);
        if (ref === undefined) {
          throw new CliError(
            `${path} has no backing file and no internal snapshot: give --from STATE or a second image to compare with`,
            EXIT.usage,
          );
        }
      }
      from = await openState(opened, path, ref);
      to = await openState(opened, path, toRef);
    }
    const diffOptions = { metadataOnly: options.metadataOnly === true, granularity };
    const header: DiffHeader = {
      from: from.description,
      to: to.description,
      granularity: diffGranularity(from.view, to.view, diffOptions),
      method: options.metadataOnly ? "metadata" : "exact",
    };
    const sink = diffSink(format, header, io);
    const size = Math.max(from.view.virtualSize, to.view.virtualSize);
    const progress = startProgress(io, "diff", size, options.quiet);
    const walk = diffExtents(from.view, to.view, {
      ...diffOptions,
      onProgress: (done) => progress.update(done),
    });
    // An exact diff reads guest data anyway, so it also names the partitions the changes fall in;
    // --metadata-only keeps its promise of reading no guest data, tables included.
    const layouts = options.metadataOnly ? null : await stateLayouts(from.view, to.view);
    const attributor = layouts === null ? null : new ExtentAttributor(layouts.to);
    let stats: DiffStats;
    for (;;) {
      const next = await walk.next();
      if (next.done) {
        stats = next.value;
        break;
      }
      attributor?.add(next.value as DiffExtent);
      await sink.extent(next.value as DiffExtent);
    }
    progress.finish();
    await sink.end({
      extents: stats.extents,
      changedBytes: stats.changedBytes,
      ...(stats.exact ? { bytesRead: stats.bytesRead, candidateBytes: stats.candidateBytes } : {}),
      ...(attributor === null || layouts === null
        ? {}
        : {
            attribution: {
              scheme: layouts.to.scheme,
              tableChanged: compareLayouts(layouts.from, layouts.to).length > 0,
              filesystem: wholeDiskFilesystem(layouts.to),
              ...attributor.result(),
            },
          }),
    });
    return stats.extents > 0 ? EXIT_DIFFERENT : EXIT.ok;
  } finally {
    await opened.closeAll();
  }
}

/**
 * Both states' partition tables, or `null` when either cannot be read (a
 * failing disk): the diff itself still stands without them.
 */
async function stateLayouts(
  from: DiskView,
  to: DiskView,
): Promise<{ from: VolumeLayout; to: VolumeLayout } | null> {
  try {
    // Boot code is not fingerprinted: only where partitions are matters here.
    const options = { bootCode: false };
    return {
      from: await readVolumes(viewDisk(from), options),
      to: await readVolumes(viewDisk(to), options),
    };
  } catch (e) {
    if (isVolumesError(e) || isQcow2Error(e)) return null;
    throw e;
  }
}

function wholeDiskFilesystem(
  layout: VolumeLayout,
): { type: string; label: string | null; uuid: string | null } | null {
  const fs = layout.scheme === "none" ? layout.filesystem : null;
  return fs === null ? null : { type: fs.type, label: fs.label, uuid: fs.uuid };
}

/** `diff --bitmap NAME`: the extents a persistent dirty bitmap marks, in the shape of a diff. */
async function runBitmap(
  opened: Opened,
  path: string,
  name: string,
  format: Format,
  io: Io,
): Promise<number> {
  const image = await opened.open(path);
  const directory = await readBitmaps(image.source, image.info);
  let bitmap: BitmapEntry;
  try {
    bitmap = findBitmap(directory, name);
  } catch (e) {
    if (!isQcow2Error(e)) throw e;
    const known = directory.bitmaps.map((b) => JSON.stringify(b.name)).join(", ");
    throw new CliError(
      `${path}: ${e.message} (${known === "" ? "it has none" : `it has ${known}`})`,
      EXIT.usage,
    );
  }
  const flags = [...(bitmap.inUse ? ["in-use"] : []), ...(bitmap.auto ? ["auto"] : [])];
  const header: DiffHeader = {
    from: {
      image: path,
      state: `bitmap:${name}`,
      virtualSize: image.virtualSize,
      bitmap: { name, granularity: bitmap.granularity ?? 0, flags },
    },
    to: { image: path, state: "active", virtualSize: image.virtualSize },
    granularity: bitmap.granularity ?? 0,
    method: "bitmap",
  };
  const sink = diffSink(format, header, io);
  let extents = 0;
  let changedBytes = 0;
  try {
    // Split where the active disk's storage changes, as diff extents are: each piece says where its bytes are now.
    const dirty = bitmapExtents(image.source, image.info, directory, bitmap);
    for await (const r of describeRanges(image, dirty)) {
      extents++;
      changedBytes += r.length;
      await sink.extent({ start: r.start, length: r.length, from: null, to: r.storage });
    }
  } catch (e) {
    throw isQcow2Error(e) ? e.withFile(path) : e;
  }
  await sink.end({ extents, changedBytes });
  return extents > 0 ? EXIT_DIFFERENT : EXIT.ok;
}

export function registerDiff(program: Command, io: Io, setExit: (code: number) => void): void {
  withPassphraseOptions(
    program
      .command("diff")
      .description(
        "what changed between two states of the evidence (snapshots, backing files, images): the guest ranges that differ and how each side stores them",
      )
      .argument("<image>", "QCOW/QCOW2 image file (opened read-only)")
      .argument(
        "[other-image]",
        "a second image: compare the two images' disks (e.g. two acquisitions)",
      )
      .option(
        "--from <state>",
        "active, snapshot:<id or name> or backing:<N> (default: backing:1 when the image has a backing file, else the newest snapshot; with a second image, active)",
      )
      .option(
        "--to <state>",
        "the later state, of the second image when one is given (default: active)",
      )
      .option(
        "--metadata-only",
        "read no guest data: every range whose mapping differs (a superset of the exact diff, at cluster or subcluster granularity)",
      )
      .option(
        "--bitmap <name>",
        "print the extents a persistent dirty bitmap marks, in the shape of a diff",
      )
      .addOption(
        new Option(
          "-f, --format <format>",
          "text (summary, then extents), json, jsonl (streamed) or csv",
        )
          .choices(FORMATS)
          .default("text"),
      )
      .option("--json", "same as --format json")
      .option("--granularity <bytes>", "sector size of the exact comparison (power of two)", "512")
      .option(
        "--backing-dir <dir>",
        "look for backing files only in this folder (by recorded path, then base name)",
      )
      .option("-q, --quiet", "no progress bar"),
  )
    .addHelpText(
      "after",
      `
Exit codes are qemu-img compare's: 0 identical, 1 different; 2 usage error, 3 an image could not be read.
Ranges both states map to the same host bytes, or that read as zeros on both sides, are decided from
the metadata and never read; only the rest is read and compared.

Examples:
  $ qcow2-forensic diff disk.qcow2                          # newest snapshot (or backing file) -> active
  $ qcow2-forensic diff disk.qcow2 --from snapshot:before-update --to snapshot:after-update
  $ qcow2-forensic diff overlay.qcow2 --from backing:1 --format jsonl
  $ qcow2-forensic diff acquisition-1.qcow2 acquisition-2.qcow2 --json
  $ qcow2-forensic diff disk.qcow2 --metadata-only          # fast upper bound, no guest data read
  $ qcow2-forensic diff disk.qcow2 --bitmap backup-0        # what a dirty bitmap says was written`,
    )
    .action(async (path: string, other: string | undefined, options: DiffOptions) => {
      setExit(await runDiff(path, other, options, io));
    });
}
