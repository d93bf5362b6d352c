import { escapeMarkup } from "../render/markup.js";
import { type CellMapFigure, type CellRuns, MAX_DRAWN_CELLS, type MapCategory } from "./figure.js";
import { PALETTE, swatchDefs, swatchFill } from "./palette.js";
import { captionText, FIGURE_WIDTH, LINE, type SvgPart, svgText, titleText } from "./svg-frame.js";

const COLUMNS = 64;
const CELL = 10;
const ROW = CELL + 1;
const LABEL_WIDTH = 110;
const TOP = 22;
const LEGEND_COLUMNS = 3;
const LEGEND_WIDTH = (FIGURE_WIDTH - 10) / LEGEND_COLUMNS;

const hex = (n: number) => (Number.isSafeInteger(n) && n >= 0 ? `0x${n.toString(16)}` : "?");

/** Runs as validated `[category, count]` pairs, cut to `limit` cells. */
function readRuns(
  runs: CellRuns,
  categories: number,
  limit: number,
): { pairs: Array<[number, number]>; cells: number; cut: boolean } {
  const pairs: Array<[number, number]> = [];
  let cells = 0;
  for (let i = 0; i + 1 < runs.length; i += 2) {
    const category = runs[i] as number;
    const count = runs[i + 1] as number;
    // A malformed run (from a buggy producer) is skipped rather than drawn wrong.
    if (!Number.isInteger(category) || category < 0 || category >= categories) continue;
    if (!Number.isInteger(count) || count <= 0) continue;
    if (cells + count > limit) {
      if (limit > cells) pairs.push([category, limit - cells]);
      return { pairs, cells: limit, cut: true };
    }
    pairs.push([category, count]);
    cells += count;
  }
  return { pairs, cells, cut: false };
}

/** Rectangles of each category, row by row from `y`; answers the path data per category and the rows used. */
function grid(
  pairs: ReadonlyArray<[number, number]>,
  categories: number,
  y: number,
): { paths: string[]; rows: number } {
  const paths: string[] = Array.from({ length: categories }, () => "");
  let cell = 0;
  for (const [category, count] of pairs) {
    let left = count;
    while (left > 0) {
      const column = cell % COLUMNS;
      const n = Math.min(left, COLUMNS - column);
      const x = LABEL_WIDTH + column * CELL;
      const top = y + Math.floor(cell / COLUMNS) * ROW;
      paths[category] += `M${x} ${top}h${n * CELL}v${CELL}h-${n * CELL}z`;
      cell += n;
      left -= n;
    }
  }
  return { paths, rows: Math.ceil(cell / COLUMNS) };
}

function drawPaths(
  paths: readonly string[],
  categories: readonly MapCategory[],
  counts: readonly number[],
  idPrefix: string,
): string {
  return paths
    .map((d, i) => {
      if (d === "") return "";
      const category = categories[i] as MapCategory;
      const tip = `${category.label}: ${counts[i]} cell${counts[i] === 1 ? "" : "s"}`;
      return `<path d="${d}" fill="${swatchFill(category.swatch, idPrefix, i)}"><title>${escapeMarkup(tip)}</title></path>`;
    })
    .join("");
}

/**
 * Draws a {@link CellMapFigure}: a grid of 64 cells per row, each row
 * labelled with the byte offset of its first cell, then the legend with
 * each category's swatch, label and number of cells, then the caption.
 */
export function cellMapSvg(figure: CellMapFigure, idPrefix: string): SvgPart {
  const categories = figure.categories;
  const main = readRuns(figure.runs, categories.length, MAX_DRAWN_CELLS);
  const tail =
    figure.tail === undefined ? null : readRuns(figure.tail.runs, categories.length, COLUMNS * 4);
  const counts = categories.map(() => 0);
  for (const [c, n] of [...main.pairs, ...(tail?.pairs ?? [])]) counts[c] = (counts[c] ?? 0) + n;

  let body = titleText(figure.title);
  body += `<defs>${swatchDefs(
    categories.map((c) => c.swatch),
    idPrefix,
  )}</defs>`;
  const drawn = grid(main.pairs, categories.length, TOP);
  body += drawPaths(drawn.paths, categories, counts, idPrefix);
  const cellBytes =
    Number.isFinite(figure.cellBytes) && figure.cellBytes > 0 ? figure.cellBytes : 0;
  for (let r = 0; r < drawn.rows; r++) {
    const label = cellBytes > 0 ? hex(r * COLUMNS * cellBytes) : `cell ${r * COLUMNS}`;
    body += `<text x="${LABEL_WIDTH - 6}" y="${TOP + r * ROW + 9}" text-anchor="end" font-size="9" font-family="ui-monospace, monospace">${label}</text>`;
  }
  let y = TOP + drawn.rows * ROW;
  if (cellBytes > 0 && main.cells > 0) {
    body += `<text x="${LABEL_WIDTH + COLUMNS * CELL}" y="${y + 10}" text-anchor="end" font-size="9" font-family="ui-monospace, monospace">end ${hex(main.cells * cellBytes)}</text>`;
    y += 12;
  }
  if (tail !== null && tail.cells > 0 && figure.tail !== undefined) {
    y += 6;
    const t = grid(tail.pairs, categories.length, y);
    body += `<text x="${LABEL_WIDTH - 6}" y="${y + 9}" text-anchor="end" font-size="9">${svgText(figure.tail.label, 20)}</text>`;
    body += drawPaths(t.paths, categories, counts, idPrefix);
    y += t.rows * ROW;
  }
  y += 10;
  const legend = categories
    .map((category, i) => {
      const x = (i % LEGEND_COLUMNS) * LEGEND_WIDTH;
      const top = y + Math.floor(i / LEGEND_COLUMNS) * (LINE + 2);
      const tip =
        category.description === undefined
          ? ""
          : `<title>${escapeMarkup(category.description)}</title>`;
      return `<g>${tip}<rect x="${x}" y="${top}" width="12" height="12" fill="${swatchFill(category.swatch, idPrefix, i)}" stroke="${PALETTE.grey}"/><text x="${x + 17}" y="${top + 10}">${svgText(category.label, 30)} (${counts[i]})</text></g>`;
    })
    .join("");
  body += legend;
  y += Math.ceil(categories.length / LEGEND_COLUMNS) * (LINE + 2) + 2;
  const cut = main.cut ? ` Only the first ${MAX_DRAWN_CELLS} cells are drawn.` : "";
  const caption = captionText(`${figure.caption ?? ""}${cut}`.trim(), y);
  body += caption.body;
  return { width: FIGURE_WIDTH, height: y + caption.height, body };
}
