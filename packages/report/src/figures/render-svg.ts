import { cellMapSvg } from "./cell-map-svg.js";
import { chainSvg } from "./chain-svg.js";
import type { Figure, NoteFigure } from "./figure.js";
import { captionText, FIGURE_WIDTH, type SvgPart, svgElement, titleText } from "./svg-frame.js";
import { timelineSvg } from "./timeline-svg.js";

function noteSvg(figure: NoteFigure): SvgPart {
  const text = captionText(figure.text, 20);
  return {
    width: FIGURE_WIDTH,
    height: 24 + text.height,
    body: titleText(figure.title) + text.body,
  };
}

/** Draws any {@link Figure} inside a frame; ids inside it start with `idPrefix`. */
export function figurePart(figure: Figure, idPrefix: string): SvgPart {
  switch (figure.kind) {
    case "cell-map":
      return cellMapSvg(figure, idPrefix);
    case "chain":
      return chainSvg(figure, idPrefix);
    case "timeline":
      return timelineSvg(figure, idPrefix);
    case "note":
      return noteSvg(figure);
  }
}

/**
 * One figure as an `<svg>` element for an HTML page (no fixed size: it scales
 * to its container). `idPrefix` keeps pattern and marker ids unique when many
 * figures share a page. Every text from the figure is escaped.
 *
 * @example
 * ```ts
 * html += renderFigureSvg(hostMap, "img3-f0-");
 * ```
 */
export function renderFigureSvg(figure: Figure, idPrefix: string): string {
  return svgElement(figurePart(figure, idPrefix), figure.title, false);
}

/**
 * Figures stacked into one standalone SVG document (XML declaration,
 * namespace, fixed size): what `map --format svg` writes.
 *
 * @example
 * ```ts
 * writeFileSync("disk-maps.svg", renderSvgDocument([hostMap, guestMap], "Maps of disk.qcow2"));
 * ```
 */
export function renderSvgDocument(figures: readonly Figure[], label: string): string {
  const gap = 24;
  let y = 10;
  let body = `<rect width="100%" height="100%" fill="#ffffff"/>`;
  figures.forEach((figure, i) => {
    const part = figurePart(figure, `f${i}-`);
    body += `<g transform="translate(10 ${y})">${part.body}</g>`;
    y += part.height + gap;
  });
  const doc = svgElement({ width: FIGURE_WIDTH + 20, height: y - gap + 10, body }, label, true);
  return `<?xml version="1.0" encoding="UTF-8"?>\n${doc}\n`;
}
