import {
  bitmapExtents,
  check,
  diffDisks,
  formatQemuMapJson,
  inspect,
  isQcow2Error,
  memorySource,
  metadataView,
  newestSnapshot,
  openVmState,
  Qcow2Error,
  Qcow2Image,
  readBitmaps,
  readLuksHeader,
  readSnapshots,
  refcountReport,
  stringifyQemuJson,
  toQemuCheckJson,
  toQemuImgInfo,
  toQemuSnapshotList,
  walkBackingChain,
} from "@x/qcow2-core";
import {
  buildImageReport,
  type ReportEnvelope,
  renderCsv,
  renderHtml,
  renderJson,
  renderJsonLines,
  renderSarif,
  renderSvgDocument,
  renderText,
} from "@x/report";
import { isVolumesError } from "@x/volumes";
import {
  auditImage,
  carveRuns,
  custodyFacts,
  drawPictures,
  examineImage,
  qcow2GuestOpener,
  toFindings,
} from "../../src/index.js";

/** A mutant that broke the contract: an untyped throw or a time overrun. */
export interface Failure {
  entry: string;
  error: string;
}

const NAME = "mutant.qcow2";
const NOW = new Date("2030-01-01T00:00:00Z");
const src = (b: Uint8Array) => memorySource(b, NAME);

/** Bounded read of the guest disk: the first and last 64 KiB. */
async function boundedRead(image: Qcow2Image): Promise<void> {
  try {
    await image.read(0, Math.min(image.virtualSize, 64 * 1024));
    await image.read(Math.max(0, image.virtualSize - 64 * 1024), 64 * 1024);
  } finally {
    await image.close();
  }
}

/**
 * The audit as the CLI renders it: findings through every report format. With
 * the guest opener, the audit also reads the guest volumes of every state it
 * can open (tables and signatures over QCOW2 reads): the guest readers are
 * fuzzed through it.
 */
async function auditAndRender(bytes: Uint8Array): Promise<void> {
  const source = src(bytes);
  const findings = toFindings(
    await auditImage(source, { now: NOW, guest: qcow2GuestOpener(source) }),
  );
  const envelope: ReportEnvelope = {
    tool: { name: "fuzz", version: "0" },
    images: [buildImageReport(NAME, findings)],
  };
  for (const render of [renderJson, renderJsonLines, renderCsv, renderSarif])
    JSON.stringify(render(envelope));
  renderText(envelope, { color: false });
}

/** What `audit --format html` and `map --format svg` draw: maps of two states at most, every figure rendered. */
async function pictures(bytes: Uint8Array): Promise<void> {
  const exam = await examineImage(src(bytes), { now: NOW, census: { cells: 256 } });
  const figures = await drawPictures(exam, {
    now: NOW,
    cells: 256,
    maxSnapshotMaps: 1,
    openState: ({ snapshot, layerOnly }) =>
      Qcow2Image.open(src(bytes), {
        layerOnly,
        ...(snapshot === null ? {} : { snapshot: snapshot.id }),
      }),
  });
  const envelope: ReportEnvelope = {
    tool: { name: "fuzz", version: "0" },
    images: [buildImageReport(NAME, toFindings(exam.anomalies))],
  };
  renderHtml(envelope, { extras: [{ figures, facts: custodyFacts(exam) }] });
  renderSvgDocument(figures, NAME);
}

/** Every snapshot (the first four): its view of the disk and its VM state. */
async function snapshotViews(bytes: Uint8Array): Promise<void> {
  const table = await readSnapshots(src(bytes));
  for (const s of table.snapshots.slice(0, 4)) {
    await boundedRead(await Qcow2Image.open(src(bytes), { snapshot: s.id }));
    if (s.vmStateSize > 0) {
      const vm = await openVmState(src(bytes), s.id);
      await vm.read(0, 4096);
      await vm.read(Math.max(0, vm.size - 4096), 4096);
    }
  }
}

/**
 * The diff `diff` runs by default on an image with snapshots: the newest one against the active
 * disk, exact on small disks (a mutated virtual size could make it read gigabytes of zeros),
 * metadata-only otherwise. A mutated table of thousands of snapshots is diffed from metadata
 * views, which do not read the table again (snapshotViews opens those; the audit runner diffs
 * every snapshot from metadata alone).
 */
async function diffs(bytes: Uint8Array): Promise<void> {
  const info = await inspect(src(bytes));
  if (info.version === 1) return;
  const table = await readSnapshots(src(bytes), info);
  const newest = newestSnapshot(table.snapshots);
  if (newest === undefined) return;
  if (table.snapshots.length > 64) {
    const now = await metadataView(src(bytes), info, null);
    await diffDisks(await metadataView(src(bytes), info, newest), now, { metadataOnly: true });
    return;
  }
  const active = await Qcow2Image.open(src(bytes));
  try {
    const before = await Qcow2Image.open(src(bytes), { snapshot: newest.id });
    try {
      await diffDisks(before, active, { metadataOnly: active.virtualSize > 16 * 1024 * 1024 });
    } finally {
      await before.close();
    }
  } finally {
    await active.close();
  }
}

/** Every persistent bitmap's dirty extents, as `bitmaps` lists them. */
async function bitmapData(bytes: Uint8Array): Promise<void> {
  const info = await inspect(src(bytes));
  const directory = await readBitmaps(src(bytes), info);
  for (const b of directory.bitmaps.slice(0, 4)) {
    try {
      for await (const _ of bitmapExtents(src(bytes), info, directory, b)) {
        // Consumed: the walk is what is exercised.
      }
    } catch (e) {
      if (!isQcow2Error(e)) throw e;
    }
  }
}

/** What `info --json`, `check --json`, `snapshots --json` and `carve` build from the facts. */
async function qemuViews(bytes: Uint8Array): Promise<void> {
  const info = await inspect(src(bytes));
  const table = await readSnapshots(src(bytes), info);
  stringifyQemuJson(toQemuImgInfo(info, { filename: NAME, snapshots: table.snapshots }));
  stringifyQemuJson(toQemuSnapshotList(table.snapshots));
  if (info.version === 1) return;
  const report = await check(src(bytes), info);
  JSON.stringify(toQemuCheckJson(report, NAME));
  carveRuns(report);
}

const RUNNERS = {
  inspect: (b: Uint8Array) => inspect(src(b)),
  snapshots: (b: Uint8Array) => readSnapshots(src(b)),
  bitmaps: async (b: Uint8Array) => readBitmaps(src(b), await inspect(src(b))),
  luks: async (b: Uint8Array) => readLuksHeader(src(b), await inspect(src(b))),
  chain: async (b: Uint8Array) =>
    walkBackingChain(await inspect(src(b)), NAME, async (request) => {
      throw new Qcow2Error("BACKING_NOT_FOUND", `no backing file ${request.name} here`);
    }),
  refcountReport: (b: Uint8Array) => refcountReport(src(b)),
  check: (b: Uint8Array) => check(src(b)),
  qemu: qemuViews,
  audit: auditAndRender,
  pictures,
  map: async (b: Uint8Array) => {
    const image = await Qcow2Image.open(src(b));
    try {
      formatQemuMapJson(await image.map());
    } finally {
      await image.close();
    }
  },
  read: async (b: Uint8Array) => boundedRead(await Qcow2Image.open(src(b))),
  layerOnly: async (b: Uint8Array) =>
    boundedRead(await Qcow2Image.open(src(b), { layerOnly: true })),
  snapshotViews,
  diffs,
  bitmapData,
} satisfies Record<string, (bytes: Uint8Array) => Promise<unknown>>;

/** Every library entry point the fuzzers drive. */
export const ENTRY_POINTS = Object.keys(RUNNERS) as Array<keyof typeof RUNNERS>;

/**
 * Runs every entry point on one mutant. Each must end in a result or a
 * typed error (`Qcow2Error`, or the guest reader's `VolumesError`) within
 * `timeLimitMs`. Anything else — a `TypeError`, a
 * `RangeError`, any untyped throw (what the CLI reports as `INTERNAL`) — is
 * returned as a failure.
 */
export async function exercise(bytes: Uint8Array, timeLimitMs: number): Promise<Failure[]> {
  const failures: Failure[] = [];
  for (const entry of ENTRY_POINTS) {
    const started = performance.now();
    try {
      await RUNNERS[entry](bytes);
    } catch (e) {
      if (!isQcow2Error(e) && !isVolumesError(e))
        failures.push({
          entry,
          error: e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : String(e),
        });
    }
    const took = performance.now() - started;
    if (took > timeLimitMs)
      failures.push({ entry, error: `took ${took.toFixed(0)} ms (limit ${timeLimitMs} ms)` });
  }
  return failures;
}
