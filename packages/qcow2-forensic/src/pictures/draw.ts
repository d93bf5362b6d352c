import {
  type ByteSource,
  check,
  isQcow2Error,
  type Qcow2Image,
  type Qcow2Snapshot,
} from "@x/qcow2-core";
import type { Figure } from "@x/report";
import type { Examination } from "../audit-image.js";
import { chainFigure } from "./chain-figure.js";
import { GuestCensus, guestMapFigure } from "./guest-map.js";
import { hostMapFigure } from "./host-map.js";
import { snapshotTimelineFigure } from "./snapshot-timeline.js";
import { formatBytes } from "./units.js";

/** Cells of every map unless asked otherwise: a 64 × 16 grid. */
export const DEFAULT_MAP_CELLS = 1024;
/** Snapshots whose guest maps are drawn (the first by table order); the rest are named in a note. */
export const DEFAULT_SNAPSHOT_MAPS = 8;

/**
 * Opens the image as of one state (`snapshot: null` for the active disk),
 * `layerOnly` to read the image without its backing chain. The caller
 * decides how files are found and unlocked; the opened image is closed after use.
 */
export type StateOpener = (state: {
  snapshot: Qcow2Snapshot | null;
  layerOnly: boolean;
}) => Promise<Qcow2Image>;

/** Options for {@link drawPictures}. */
export interface PictureOptions {
  /** Cells per map (default {@link DEFAULT_MAP_CELLS}). */
  cells?: number;
  /** Snapshots with a guest map (default {@link DEFAULT_SNAPSHOT_MAPS}). */
  maxSnapshotMaps?: number;
  /** Opens states for the guest maps; without it no guest map is drawn. */
  openState?: StateOpener;
  /** The audit clock (default: now), marked on the timeline when a snapshot is dated after it. */
  now?: Date;
}

/**
 * Why a picture could not be drawn, for its note. Only typed errors (what the
 * image is) become notes; anything else is a bug and is thrown on, so it
 * surfaces as one instead of hiding in a caption.
 */
function reason(e: unknown): string {
  if (!isQcow2Error(e)) throw e;
  return `${e.code}: ${e.message}`;
}

function stateTitle(snapshot: Qcow2Snapshot | null): string {
  return snapshot === null
    ? "Guest disk — active state"
    : `Guest disk — snapshot id ${snapshot.id} "${snapshot.name}"`;
}

/**
 * The guest map of one state of an image. `open(layerOnly)` opens it; when
 * the backing chain cannot be opened, the image's own layer is drawn and the
 * caption says so. A typed failure (`Qcow2Error`: what the image is) becomes a
 * note titled `title`; anything else is a bug and is thrown.
 *
 * @example
 * ```ts
 * const figure = await drawGuestMap((layerOnly) => openImage("disk.qcow2", { layerOnly }));
 * ```
 */
export async function drawGuestMap(
  open: (layerOnly: boolean) => Promise<Qcow2Image>,
  cells: number = DEFAULT_MAP_CELLS,
  title?: string,
): Promise<Figure> {
  let image: Qcow2Image;
  let fallback = "";
  const failed = (e: unknown): Figure => ({
    kind: "note",
    title: title ?? "Guest disk",
    text: `not drawn — ${reason(e)}`,
  });
  try {
    image = await open(false);
  } catch (e) {
    if (!isQcow2Error(e) || !e.code.startsWith("BACKING_")) return failed(e);
    try {
      image = await open(true);
      fallback = ` (${reason(e)})`;
    } catch (again) {
      return failed(again);
    }
  }
  try {
    const census = new GuestCensus(image.virtualSize, cells);
    await image.mapEach((e) => census.add(e));
    const figure = guestMapFigure(
      census,
      title ?? stateTitle(image.snapshot),
      image.layers.map((l) => l.name),
    );
    if (image.layers.length === 1 && image.info.backingFile !== null)
      figure.caption += ` The backing chain is not read${fallback}: this image's own layer is drawn, and what its backing files would supply shows as unallocated.`;
    return figure;
  } catch (e) {
    return failed(e);
  } finally {
    await image.close();
  }
}

/**
 * The host-file map of the image in `source`: runs the consistency check
 * with a census of `cells` cells. An image the check refuses (QCOW1,
 * unknown incompatible features, …) gives a note saying why.
 *
 * @example
 * ```ts
 * const figure = await drawHostMap(await openFileSource("disk.qcow2"));
 * ```
 */
export async function drawHostMap(
  source: ByteSource,
  cells: number = DEFAULT_MAP_CELLS,
): Promise<Figure> {
  try {
    const report = await check(source, undefined, { census: { cells } });
    if (report.census !== undefined) return hostMapFigure(report.census, "Host file");
    return { kind: "note", title: "Host file", text: "not drawn — no census" };
  } catch (e) {
    return { kind: "note", title: "Host file", text: `not drawn — ${reason(e)}` };
  }
}

function hostMap(exam: Examination, cells: number): Figure {
  const census = exam.check?.census;
  if (census !== undefined) return hostMapFigure(census, "Host file");
  const why =
    exam.info.version === 1
      ? "QCOW1 images have no refcounts to check"
      : exam.check === null
        ? "the consistency check was not run (--quick) or refuses this image"
        : `the check ran without a census of ${cells} cells`;
  return { kind: "note", title: "Host file", text: `not drawn — ${why}.` };
}

/**
 * The pictures of an examined image, in report order: the host-file map
 * (from the check's census), a guest map of the active state and of each
 * snapshot (up to `maxSnapshotMaps`), the backing chain, the snapshot
 * timeline. A picture the image does not allow (a typed `Qcow2Error`)
 * becomes a note saying why. Bounded: every map has at most `cells` cells.
 *
 * @example
 * ```ts
 * const exam = await examineImage(source, { census: { cells: 1024 } });
 * const figures = await drawPictures(exam, { openState: ({ snapshot, layerOnly }) => Qcow2Image.open(source, { layerOnly, ...(snapshot ? { snapshot: snapshot.id } : {}) }) });
 * ```
 */
export async function drawPictures(
  exam: Examination,
  options: PictureOptions = {},
): Promise<Figure[]> {
  const cells = options.cells ?? DEFAULT_MAP_CELLS;
  const figures: Figure[] = [hostMap(exam, cells)];
  const snapshots = exam.snapshots?.snapshots ?? [];
  const limit = options.maxSnapshotMaps ?? DEFAULT_SNAPSHOT_MAPS;
  if (options.openState !== undefined) {
    const open = options.openState;
    for (const snapshot of [null, ...snapshots.slice(0, limit)])
      figures.push(
        await drawGuestMap(
          (layerOnly) => open({ snapshot, layerOnly }),
          cells,
          stateTitle(snapshot),
        ),
      );
    if (snapshots.length > limit)
      figures.push({
        kind: "note",
        title: "Guest maps of further snapshots",
        text: `not drawn — ${snapshots.length - limit} more snapshots (ids ${snapshots[limit]?.id} … ${snapshots[snapshots.length - 1]?.id}); the first ${limit} are drawn. Use map --snapshot ID --format svg for any one.`,
      });
  }
  if (exam.chain !== null) figures.push(chainFigure(exam.name, exam.info, exam.chain));
  if (snapshots.length > 0 && exam.snapshots !== null)
    figures.push(snapshotTimelineFigure(exam.snapshots, exam.anomalies, options.now ?? new Date()));
  return figures;
}

/**
 * Facts for the custody table of a report: file size, format, virtual size,
 * cluster size.
 *
 * @example
 * ```ts
 * custodyFacts(exam); // [{ label: "file size", value: "196616 bytes (192 KiB)" }, …]
 * ```
 */
export function custodyFacts(exam: Examination): Array<{ label: string; value: string }> {
  const { info } = exam;
  // An out-of-range field is NaN here; its exact value is in the findings.
  const size = (n: number) =>
    Number.isSafeInteger(n) ? `${n} bytes (${formatBytes(n)})` : "out of range (see findings)";
  const facts = [
    { label: "file size", value: size(exam.fileSize) },
    {
      label: "format",
      value: info.version === 1 ? "qcow (version 1)" : `qcow2 version ${info.version}`,
    },
    { label: "virtual size", value: size(info.virtualSize) },
  ];
  if (info.version !== 1) facts.push({ label: "cluster size", value: `${info.clusterSize} bytes` });
  return facts;
}
