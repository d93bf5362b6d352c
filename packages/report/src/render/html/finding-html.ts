import type { Finding } from "../../finding.js";
import { formatLocation } from "../../location.js";
import { isSeverity } from "../../severity.js";
import { clip, escapeMarkup as esc } from "../markup.js";

/** Characters of an evidence value shown in full detail; the JSON report has the rest. */
export const MAX_VALUE_CHARS = 2000;
/** Characters of a note shown in full detail. */
export const MAX_NOTE_CHARS = 4000;
/** Characters of a note in a compact finding (once the section is past its detail budget). */
export const COMPACT_NOTE_CHARS = 240;

/** The finding's severity, or "unrated" (also for a value that is not a severity). */
export const severityOf = (f: Finding) => (isSeverity(f.severity) ? f.severity : "unrated");

function severityBadge(f: Finding): string {
  const s = severityOf(f);
  return `<span class="badge sev-${s}">${s}</span>`;
}

function shown(text: string, max: number): string {
  if (text.length <= max) return esc(text);
  return `${esc(clip(text, max))} <span class="omitted">(${text.length - max + 1} more characters in the JSON report)</span>`;
}

/** How many findings a folded summary stands for, or 0 for an ordinary finding. */
export function foldedCount(f: Finding): number {
  const n = f.folded?.count;
  return typeof n === "number" && Number.isSafeInteger(n) && n > 0 ? n : 0;
}

function opening(f: Finding, compact: boolean): string {
  const severity = severityOf(f);
  const folded = foldedCount(f);
  const classes = `finding${compact ? " compact" : ""}${folded > 0 ? " folded" : ""}`;
  // A folded summary says so in words: it stands for findings the per-code cap did not list.
  const mark =
    folded > 0
      ? ` <span class="folded-mark">${folded} more folded, ${esc(String(f.folded?.total ?? ""))} in all</span>`
      : "";
  const data = folded > 0 ? ` data-folded-count="${folded}"` : "";
  return `<article class="${classes}" data-finding-code="${esc(f.code)}" data-severity="${severity}"${data}><header>${severityBadge(f)} <code>${esc(f.code)}</code> <span class="category">${esc(f.category)}</span>${mark}</header>`;
}

/** One finding with its note and every evidence item (field, value, host/guest location). */
export function findingHtml(f: Finding): string {
  let out = `${opening(f, false)}<p class="note">${shown(f.note, MAX_NOTE_CHARS)}</p>`;
  if (f.evidence.length > 0) {
    out += `<table class="evidence"><thead><tr><th>evidence</th><th>value</th><th>location</th></tr></thead><tbody>`;
    for (const e of f.evidence) {
      const at = e.location === undefined ? "" : esc(formatLocation(e.location));
      out += `<tr><td><code>${esc(e.field)}</code></td><td class="mono">${shown(e.value, MAX_VALUE_CHARS)}</td><td class="mono">${at}</td></tr>`;
    }
    out += "</tbody></table>";
  }
  return `${out}</article>`;
}

/** A finding without its evidence, its note shortened: the section has reached its size budget. */
export function compactFindingHtml(f: Finding): string {
  return `${opening(f, true)}<p class="note">${shown(f.note, COMPACT_NOTE_CHARS)} <span class="omitted">(evidence in the JSON report)</span></p></article>`;
}
