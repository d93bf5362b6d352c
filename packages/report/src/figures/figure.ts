import type { Swatch } from "./palette.js";

/**
 * One entry of a cell map's legend: what the cells of that category stand for
 * and how they are drawn.
 *
 * @example
 * ```ts
 * const leaked: MapCategory = { label: "leaked", swatch: { color: "orange", pattern: "hatch" } };
 * ```
 */
export interface MapCategory {
  label: string;
  swatch: Swatch;
  /** One line shown as the category's tooltip and in the legend's description. */
  description?: string;
}

/**
 * Cells as run-lengths: `[category, count, category, count, …]`, where
 * `category` indexes {@link CellMapFigure.categories}. Flat numbers so a map
 * of any size is a few kilobytes of plain data.
 *
 * @example
 * ```ts
 * const runs: CellRuns = [0, 1, 2, 1021, 1, 2]; // 1 header cell, 1021 data cells, 2 L1 cells
 * ```
 */
export type CellRuns = number[];

/**
 * A range of something (a file, a virtual disk) drawn as a grid of equal
 * cells, each in the colour of one category. The producer aggregates into a
 * bounded number of cells; the renderer draws at most {@link MAX_DRAWN_CELLS}.
 *
 * @example
 * ```ts
 * const map: CellMapFigure = {
 *   kind: "cell-map",
 *   title: "Host file",
 *   categories: [{ label: "header", swatch: { color: "black" } }, { label: "data", swatch: { color: "grey" } }],
 *   runs: [0, 1, 1, 3],
 *   cellBytes: 65536,
 * };
 * ```
 */
export interface CellMapFigure {
  kind: "cell-map";
  title: string;
  /** A sentence under the picture: what a cell is and how its category was chosen. */
  caption?: string;
  categories: MapCategory[];
  runs: CellRuns;
  /** Bytes one cell stands for: rows are labelled with the byte offset of their first cell. */
  cellBytes: number;
  /** Extra cells drawn after a gap, with their own label (e.g. references past end of file). */
  tail?: { label: string; runs: CellRuns };
}

/**
 * One file of a chain: drawn as a box, linked to the next one by an arrow.
 *
 * @example
 * ```ts
 * const node: ChainNode = { label: "base.qcow2", detail: "qcow2, 1 GiB", state: "present" };
 * ```
 */
export interface ChainNode {
  label: string;
  detail?: string;
  /** `present` for a file that was found; anything else ends the chain in a warning colour. */
  state: "present" | "missing" | "loop" | "unreadable" | "too-deep";
}

/**
 * A chain of files (an overlay and its backing files), top first; each node
 * refers to the next through `edgeLabel`.
 *
 * @example
 * ```ts
 * const chain: ChainFigure = {
 *   kind: "chain",
 *   title: "Backing chain",
 *   edgeLabel: "backing file",
 *   nodes: [{ label: "overlay.qcow2", state: "present" }, { label: "base.qcow2", state: "missing" }],
 * };
 * ```
 */
export interface ChainFigure {
  kind: "chain";
  title: string;
  caption?: string;
  edgeLabel: string;
  nodes: ChainNode[];
}

/**
 * A dated event on a {@link TimelineFigure}.
 *
 * @example
 * ```ts
 * const e: TimelineEvent = { time: 1_700_000_000, label: "snapshot 1 \"before-update\"", flagged: false };
 * ```
 */
export interface TimelineEvent {
  /** Seconds since the Unix epoch (UTC). */
  time: number;
  label: string;
  detail?: string;
  /** Drawn in the warning style (e.g. a date that contradicts the others). */
  flagged?: boolean;
}

/**
 * Events on a linear time axis, with an optional reference instant (e.g. the
 * audit clock).
 *
 * @example
 * ```ts
 * const t: TimelineFigure = { kind: "timeline", title: "Snapshots", events: [{ time: 1_700_000_000, label: "snap1" }] };
 * ```
 */
export interface TimelineFigure {
  kind: "timeline";
  title: string;
  caption?: string;
  events: TimelineEvent[];
  reference?: { time: number; label: string };
}

/**
 * Why a picture is absent (e.g. "guest map not drawn: the image is encrypted").
 *
 * @example
 * ```ts
 * const n: NoteFigure = { kind: "note", title: "Guest map", text: "needs the passphrase" };
 * ```
 */
export interface NoteFigure {
  kind: "note";
  title: string;
  text: string;
}

/**
 * A picture of a report, as plain data (it crosses worker threads and
 * serialises as JSON); `renderFigureSvg` draws it.
 *
 * @example
 * ```ts
 * const figures: Figure[] = [hostMap, chain, { kind: "note", title: "Guest map", text: "not drawn" }];
 * ```
 */
export type Figure = CellMapFigure | ChainFigure | TimelineFigure | NoteFigure;

/** Cells a cell map draws at most; runs beyond are cut (and the cut is said). */
export const MAX_DRAWN_CELLS = 2048;
/** Events a timeline draws at most; the rest are counted in its caption. */
export const MAX_DRAWN_EVENTS = 64;
/** Nodes a chain diagram draws at most. */
export const MAX_DRAWN_NODES = 80;
