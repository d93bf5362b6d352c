import { escapeMarkup } from "../render/markup.js";
import { type ChainFigure, type ChainNode, MAX_DRAWN_NODES } from "./figure.js";
import { PALETTE } from "./palette.js";
import { captionText, FIGURE_WIDTH, type SvgPart, svgText, titleText } from "./svg-frame.js";

const BOX_WIDTH = 520;
const BOX_HEIGHT = 38;
const GAP = 26;
const LEFT = 20;
const TOP = 24;

const STATE_WORD: Readonly<Record<ChainNode["state"], string>> = {
  present: "",
  missing: "NOT FOUND",
  loop: "LOOP",
  unreadable: "UNREADABLE",
  "too-deep": "TOO DEEP",
};

function box(node: ChainNode, y: number): string {
  const ok = node.state === "present";
  const stroke = ok ? PALETTE.black : PALETTE.vermillion;
  const dash = ok ? "" : ' stroke-dasharray="5 3"';
  const fill = ok ? PALETTE["light-grey"] : PALETTE.white;
  const word = STATE_WORD[node.state];
  const tip = `${node.label}${node.detail === undefined ? "" : ` — ${node.detail}`}${word === "" ? "" : ` (${word})`}`;
  let out = `<g><title>${escapeMarkup(tip)}</title><rect x="${LEFT}" y="${y}" width="${BOX_WIDTH}" height="${BOX_HEIGHT}" rx="4" fill="${fill}" stroke="${stroke}" stroke-width="1.5"${dash}/>`;
  out += `<text x="${LEFT + 8}" y="${y + 15}" font-weight="bold">${svgText(node.label, 72)}</text>`;
  if (node.detail !== undefined)
    out += `<text x="${LEFT + 8}" y="${y + 30}" fill="#333">${svgText(node.detail, 82)}</text>`;
  if (word !== "")
    out += `<text x="${LEFT + BOX_WIDTH + 10}" y="${y + 23}" font-weight="bold" fill="${PALETTE.vermillion}">⚠ ${word}</text>`;
  return `${out}</g>`;
}

/**
 * Draws a {@link ChainFigure}: one box per file, top first, joined by
 * downward arrows labelled with `edgeLabel`; a node that is not `present` is
 * dashed and says its state in words.
 */
export function chainSvg(figure: ChainFigure, idPrefix: string): SvgPart {
  const nodes = figure.nodes.slice(0, MAX_DRAWN_NODES);
  let body = titleText(figure.title);
  body += `<defs><marker id="${idPrefix}arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0 0L10 5L0 10z" fill="${PALETTE.black}"/></marker></defs>`;
  let y = TOP;
  nodes.forEach((node, i) => {
    if (i > 0) {
      const x = LEFT + 40;
      body += `<path d="M${x} ${y - GAP}v${GAP - 2}" stroke="${PALETTE.black}" marker-end="url(#${idPrefix}arrow)"/>`;
      body += `<text x="${x + 8}" y="${y - GAP / 2 + 4}" fill="#333" font-style="italic">${svgText(figure.edgeLabel, 40)}</text>`;
    }
    body += box(node, y);
    y += BOX_HEIGHT + GAP;
  });
  y -= GAP - 8;
  const more =
    figure.nodes.length > nodes.length
      ? ` ${figure.nodes.length - nodes.length} more files are not drawn.`
      : "";
  const caption = captionText(`${figure.caption ?? ""}${more}`.trim(), y);
  body += caption.body;
  return { width: FIGURE_WIDTH, height: y + caption.height, body };
}
