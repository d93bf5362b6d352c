import { clip, escapeMarkup } from "../render/markup.js";

/** A drawn figure: its size in user units and the SVG elements inside its frame. */
export interface SvgPart {
  width: number;
  height: number;
  body: string;
}

/** Width every figure is drawn at (user units; the HTML scales it to the page). */
export const FIGURE_WIDTH = 760;
export const FONT = "font-family=\"system-ui, -apple-system, 'Segoe UI', sans-serif\"";
/** Line height of 11-unit text. */
export const LINE = 15;

/** Text escaped and clipped for an SVG `<text>` (full text belongs in a `<title>`). */
export function svgText(text: string, max: number): string {
  return escapeMarkup(clip(text, max));
}

/** Breaks `text` into lines of at most `width` characters, at spaces where possible. */
export function wrap(text: string, width: number, maxLines: number): string[] {
  const lines: string[] = [];
  let rest = text.trim();
  while (rest.length > 0 && lines.length < maxLines) {
    if (rest.length <= width) {
      lines.push(rest);
      break;
    }
    let cut = rest.lastIndexOf(" ", width);
    if (cut <= width / 2) cut = width;
    lines.push(rest.slice(0, cut).trimEnd());
    rest = rest.slice(cut).trimStart();
  }
  if (rest.length > 0 && lines.length === maxLines) {
    const last = lines.length - 1;
    lines[last] = clip(`${lines[last]} ${rest}`, width);
  }
  return lines;
}

/** The title line at the top of a figure. */
export function titleText(title: string): string {
  return `<text x="0" y="13" font-size="13" font-weight="bold">${svgText(title, 110)}</text>`;
}

/** A caption as lines of text starting at `y`; answers the markup and its height. */
export function captionText(
  caption: string | undefined,
  y: number,
): { body: string; height: number } {
  if (caption === undefined || caption === "") return { body: "", height: 0 };
  const lines = wrap(caption, 125, 6);
  const body = lines
    .map((l, i) => `<text x="0" y="${y + 11 + i * LINE}" fill="#333">${escapeMarkup(l)}</text>`)
    .join("");
  return { body, height: lines.length * LINE + 4 };
}

/**
 * Wraps a part in its own `<svg>` element: inline in HTML (scaled to the page)
 * or, with `standalone`, as a complete SVG document with its namespace.
 */
export function svgElement(part: SvgPart, label: string, standalone: boolean): string {
  const ns = standalone ? ' xmlns="http://www.w3.org/2000/svg"' : "";
  const size = standalone ? ` width="${part.width}" height="${part.height}"` : "";
  return `<svg${ns}${size} viewBox="0 0 ${part.width} ${part.height}" role="img" aria-label="${escapeMarkup(clip(label, 200))}" ${FONT} font-size="11">${part.body}</svg>`;
}
