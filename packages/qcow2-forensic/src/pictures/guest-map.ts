import type { MapExtent } from "@x/qcow2-core";
import type { CellMapFigure, MapCategory, PaletteColor } from "@x/report";
import { formatBytes, pushCell } from "./units.js";

/** Layers drawn in colours of their own; deeper ones share the last category. */
export const MAX_LAYER_COLOURS = 7;
const LAYER_COLOURS: readonly PaletteColor[] = [
  "blue",
  "orange",
  "bluish-green",
  "reddish-purple",
  "sky-blue",
  "yellow",
  "vermillion",
];

/** Bytes of one cell by what supplies them. */
interface GuestCell {
  /** Data bytes per chain depth (capped at {@link MAX_LAYER_COLOURS} − 1: "deeper"). */
  data: number[];
  zero: number;
  unallocated: number;
}

/**
 * Sums the extents of `qemu-img map` (as `Qcow2Image.mapEach` yields them)
 * into at most `cells` equal guest ranges. Work per extent is bounded by the
 * cells it spans, memory by the number of cells: any disk size, any extent count.
 *
 * @example
 * ```ts
 * const census = new GuestCensus(image.virtualSize, 1024);
 * await image.mapEach((e) => census.add(e));
 * ```
 */
export class GuestCensus {
  readonly cellBytes: number;
  readonly cells: GuestCell[];

  constructor(
    readonly virtualSize: number,
    cells: number,
  ) {
    const wanted = Math.max(1, Math.floor(cells));
    // Cells of whole 512-byte sectors, so row offsets read as sector boundaries.
    this.cellBytes = Math.max(512, Math.ceil(virtualSize / wanted / 512) * 512);
    const count = Math.max(1, Math.ceil(virtualSize / this.cellBytes));
    this.cells = Array.from({ length: count }, () => ({ data: [], zero: 0, unallocated: 0 }));
  }

  add(e: MapExtent): void {
    const end = Math.min(e.start + e.length, this.virtualSize);
    let at = e.start;
    const depth = Math.min(e.depth, MAX_LAYER_COLOURS - 1);
    while (at < end) {
      const c = Math.floor(at / this.cellBytes);
      const cell = this.cells[c];
      if (cell === undefined) return;
      const n = Math.min(end, (c + 1) * this.cellBytes) - at;
      if (e.data) cell.data[depth] = (cell.data[depth] ?? 0) + n;
      else if (e.present) cell.zero += n;
      else cell.unallocated += n;
      at += n;
    }
  }
}

/** Labels of the layers: `layers[0]` is the image itself, then its backing files. */
export type LayerNames = readonly string[];

type GuestKey = number | "zero" | "unallocated";

/** Data if any (the layer with most of it), else zeros if any, else unallocated. */
function cellKey(cell: GuestCell): GuestKey {
  let best = -1;
  let most = 0;
  cell.data.forEach((n, depth) => {
    if (n > most) {
      most = n;
      best = depth;
    }
  });
  if (best >= 0) return best;
  return cell.zero > 0 ? "zero" : "unallocated";
}

function category(key: GuestKey, layers: LayerNames): MapCategory {
  if (key === "zero")
    return {
      label: "zeros",
      swatch: { color: "white", pattern: "dots" },
      description: "allocated as zeros (zero clusters) in some layer",
    };
  if (key === "unallocated")
    return {
      label: "unallocated",
      swatch: { color: "light-grey" },
      description: "no layer allocates it: reads as zeros",
    };
  const deeper = key === MAX_LAYER_COLOURS - 1 && layers.length > MAX_LAYER_COLOURS;
  const name = deeper ? `layers ${key}–${layers.length - 1}` : (layers[key] ?? `layer ${key}`);
  return {
    label: key === 0 ? "data: this image" : `data: ${deeper ? name : `layer ${key}`}`,
    swatch: { color: LAYER_COLOURS[key] as PaletteColor },
    description: `data supplied by ${key === 0 ? "the image itself" : `backing ${deeper ? "" : "file "}${name}`}`,
  };
}

/**
 * The guest map of one state of the disk: each cell coloured by the chain
 * layer that supplies most of its data, else zeros, else unallocated.
 *
 * @example
 * ```ts
 * const figure = guestMapFigure(census, "Guest disk — active", ["disk.qcow2", "base.qcow2"]);
 * ```
 */
export function guestMapFigure(
  census: GuestCensus,
  title: string,
  layers: LayerNames,
): CellMapFigure {
  const keys = census.cells.map(cellKey);
  const all: GuestKey[] = [
    ...Array.from({ length: MAX_LAYER_COLOURS }, (_, d) => d),
    "zero",
    "unallocated",
  ];
  const order = all.filter((k) => keys.includes(k));
  const runs: number[] = [];
  for (const k of keys) pushCell(runs, order.indexOf(k));
  const chain =
    layers.length > 1 ? ` Layers: ${layers.map((name, d) => `${d} ${name}`).join("; ")}.` : "";
  return {
    kind: "cell-map",
    title,
    categories: order.map((k) => category(k, layers)),
    runs,
    cellBytes: census.cellBytes,
    caption:
      `${formatBytes(census.virtualSize)} virtual disk (${census.virtualSize} bytes); each cell is ${formatBytes(census.cellBytes)}. ` +
      `A cell shows data if it holds any (in the colour of the layer supplying most of it), else zeros if any, else unallocated. ` +
      `Legend numbers count cells.${chain}`,
  };
}
