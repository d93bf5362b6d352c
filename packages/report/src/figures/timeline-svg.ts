import { escapeMarkup } from "../render/markup.js";
import { MAX_DRAWN_EVENTS, type TimelineEvent, type TimelineFigure } from "./figure.js";
import { PALETTE } from "./palette.js";
import { captionText, FIGURE_WIDTH, LINE, type SvgPart, svgText, titleText } from "./svg-frame.js";

const LEFT = 30;
const RIGHT = FIGURE_WIDTH - 30;
const AXIS_Y = 44;
const FIRST_ROW = 74;

/** ISO 8601 in UTC, to the second; "invalid" for times a Date cannot hold. */
export function isoSeconds(time: number): string {
  const d = new Date(time * 1000);
  return Number.isNaN(d.getTime()) ? `unix ${time}` : `${d.toISOString().slice(0, 19)}Z`;
}

function tickLabel(time: number, span: number): string {
  const iso = isoSeconds(time);
  if (iso.startsWith("unix")) return iso;
  // Dates alone once the axis spans more than two days; times of day below that.
  return span > 2 * 86400 ? iso.slice(0, 10) : iso.slice(0, 16).replace("T", " ");
}

/**
 * Draws a {@link TimelineFigure}: a linear UTC time axis with five dated
 * ticks, each event a marker on the axis with a leader line down to its own
 * row of text (so labels never overlap), flagged events as warning
 * diamonds, the reference instant as a dashed line.
 */
export function timelineSvg(figure: TimelineFigure, _idPrefix: string): SvgPart {
  const valid = figure.events.filter((e) => Number.isFinite(e.time));
  const events = [...valid].sort((a, b) => a.time - b.time).slice(0, MAX_DRAWN_EVENTS);
  const times = events.map((e) => e.time);
  const reference =
    figure.reference !== undefined && Number.isFinite(figure.reference.time)
      ? figure.reference
      : undefined;
  if (reference !== undefined) times.push(reference.time);
  const min = times.length > 0 ? Math.min(...times) : 0;
  const max = times.length > 0 ? Math.max(...times) : 0;
  const span = max - min;
  const xOf = (t: number) =>
    span === 0 ? (LEFT + RIGHT) / 2 : LEFT + ((t - min) / span) * (RIGHT - LEFT);

  let body = titleText(figure.title);
  body += `<path d="M${LEFT} ${AXIS_Y}H${RIGHT}" stroke="${PALETTE.black}" stroke-width="1.5"/>`;
  const ticks = span === 0 ? [min] : [0, 1, 2, 3, 4].map((i) => min + (span * i) / 4);
  ticks.forEach((t, i) => {
    const x = xOf(t);
    const anchor = span === 0 ? "middle" : i === 0 ? "start" : i === 4 ? "end" : "middle";
    body += `<path d="M${x} ${AXIS_Y - 4}v8" stroke="${PALETTE.black}"/><text x="${x}" y="${AXIS_Y - 8}" text-anchor="${anchor}" font-size="10">${escapeMarkup(tickLabel(t, span))}</text>`;
  });
  const bottom = FIRST_ROW + Math.max(0, events.length - 1) * LINE + 6;
  if (reference !== undefined) {
    const x = xOf(reference.time);
    body += `<g><title>${escapeMarkup(`${reference.label}: ${isoSeconds(reference.time)}`)}</title><path d="M${x} ${AXIS_Y - 2}V${bottom}" stroke="${PALETTE.blue}" stroke-dasharray="4 3"/><text x="${x}" y="${AXIS_Y + 16}" text-anchor="${x > FIGURE_WIDTH / 2 ? "end" : "start"}" dx="${x > FIGURE_WIDTH / 2 ? -4 : 4}" fill="${PALETTE.blue}" font-size="10">${svgText(reference.label, 40)}</text></g>`;
  }
  for (const [i, e] of events.entries()) body += eventRow(e, xOf(e.time), FIRST_ROW + i * LINE);
  let y = events.length === 0 ? AXIS_Y + 20 : bottom + 4;
  const hidden = figure.events.length - events.length;
  const more =
    hidden > 0
      ? ` ${hidden} more events are not drawn (the first ${MAX_DRAWN_EVENTS} by time are).`
      : "";
  const caption = captionText(`${figure.caption ?? ""}${more}`.trim(), y);
  body += caption.body;
  y += caption.height;
  return { width: FIGURE_WIDTH, height: y, body };
}

function eventRow(e: TimelineEvent, x: number, y: number): string {
  const colour = e.flagged ? PALETTE.vermillion : PALETTE.black;
  const marker = e.flagged
    ? `<path d="M${x} ${AXIS_Y - 6}l6 6l-6 6l-6-6z" fill="${PALETTE.vermillion}"/>`
    : `<circle cx="${x}" cy="${AXIS_Y}" r="4" fill="${PALETTE.blue}"/>`;
  const right = x > FIGURE_WIDTH / 2;
  const text = `${e.flagged ? "⚠ " : ""}${isoSeconds(e.time)}  ${e.label}`;
  const tip = `${text}${e.detail === undefined ? "" : ` — ${e.detail}`}`;
  return `<g><title>${escapeMarkup(tip)}</title>${marker}<path d="M${x} ${AXIS_Y + 4}V${y - 4}" stroke="${PALETTE.grey}" stroke-width="0.8"/><text x="${x}" y="${y}" dx="${right ? -4 : 4}" text-anchor="${right ? "end" : "start"}" fill="${colour}" paint-order="stroke" stroke="#fff" stroke-width="3">${svgText(text, 70)}</text></g>`;
}
