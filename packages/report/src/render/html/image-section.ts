import type { Figure } from "../../figures/figure.js";
import { renderFigureSvg } from "../../figures/render-svg.js";
import type { Finding } from "../../finding.js";
import type { ImageReport } from "../../report.js";
import { isSeverity, SEVERITIES, type Severity } from "../../severity.js";
import { escapeMarkup as esc, utf8Length } from "../markup.js";
import { compactFindingHtml, findingHtml, foldedCount, severityOf } from "./finding-html.js";

/** What a report producer adds to an image's section beside its findings. */
export interface HtmlImageExtras {
  /** Pictures of the image, drawn in this order. */
  figures?: readonly Figure[];
  /** Facts for the custody table (e.g. file size, format), in this order. */
  facts?: ReadonlyArray<{ label: string; value: string }>;
}

/**
 * Bytes an image's section may take, so that one image's report stays under
 * 2 MB whatever the image holds: pictures up to {@link FIGURE_BUDGET}, then
 * findings in full until {@link DETAIL_BUDGET}, then compact (no evidence)
 * until {@link SECTION_BUDGET}; beyond, findings are counted, not listed.
 */
export const FIGURE_BUDGET = 700_000;
export const DETAIL_BUDGET = 1_400_000;
export const SECTION_BUDGET = 1_850_000;

const GROUPS: ReadonlyArray<Severity | "unrated"> = [...[...SEVERITIES].reverse(), "unrated"];
const GROUP_TITLE: Readonly<Record<Severity | "unrated", string>> = {
  critical: "Critical",
  high: "High",
  medium: "Medium",
  low: "Low",
  info: "Info",
  unrated: "Unrated",
};

/** The anchor id of the image at `index` (0-based). */
export const imageAnchor = (index: number) => `image-${index + 1}`;

function custody(image: ImageReport, extras: HtmlImageExtras | undefined): string {
  const rows: string[] = [`<dt>path</dt><dd class="mono">${esc(image.path)}</dd>`];
  for (const fact of extras?.facts ?? [])
    rows.push(`<dt>${esc(fact.label)}</dt><dd class="mono">${esc(fact.value)}</dd>`);
  if (image.container !== undefined) {
    rows.push(`<dt>container size</dt><dd class="mono">${image.container.size} bytes</dd>`);
    for (const [algorithm, digest] of Object.entries(image.container.hashes))
      rows.push(`<dt>${esc(algorithm)}</dt><dd class="mono">${esc(digest)}</dd>`);
  } else {
    rows.push(`<dt>container hashes</dt><dd>not recorded for this run</dd>`);
  }
  return `<h3>Custody</h3><dl class="facts">${rows.join("")}</dl>`;
}

function pictures(figures: readonly Figure[], index: number): { html: string; bytes: number } {
  if (figures.length === 0) return { html: "", bytes: 0 };
  let html = "<h3>Pictures</h3>";
  let bytes = 0;
  let dropped = 0;
  figures.forEach((figure, f) => {
    const markup =
      figure.kind === "note"
        ? `<p class="picture-note"><strong>${esc(figure.title)}:</strong> ${esc(figure.text)}</p>`
        : `<figure class="picture" data-figure="${esc(figure.kind)}">${renderFigureSvg(figure, `i${index}f${f}-`)}</figure>`;
    const size = utf8Length(markup);
    if (bytes + size > FIGURE_BUDGET) {
      dropped++;
      return;
    }
    html += markup;
    bytes += size;
  });
  if (dropped > 0)
    html += `<p class="notice">${dropped} more picture${dropped === 1 ? " is" : "s are"} not drawn: this image's pictures reached the report's size bound.</p>`;
  return { html, bytes };
}

function findings(list: readonly Finding[], used: number): string {
  if (list.length === 0) return "<h3>Findings</h3><p>No findings.</p>";
  const folded = foldedTotal(list);
  let html = `<h3>Findings (${list.length})</h3>`;
  if (folded > 0)
    html += `<p class="notice">${folded} more finding${folded === 1 ? " is" : "s are"} folded into summary findings (marked “folded”) by the per-code cap; raise it with --max-findings-per-code to list them.</p>`;
  let bytes = used;
  let omitted = 0;
  for (const group of GROUPS) {
    const members = list.filter((f) => severityOf(f) === group);
    if (members.length === 0) continue;
    let part = `<section class="severity-group" data-severity-group="${group}"><h4>${GROUP_TITLE[group]} (${members.length})</h4>`;
    for (const f of members) {
      if (bytes >= SECTION_BUDGET) {
        omitted++;
        continue;
      }
      const markup = bytes < DETAIL_BUDGET ? findingHtml(f) : compactFindingHtml(f);
      part += markup;
      bytes += utf8Length(markup);
    }
    html += `${part}</section>`;
  }
  if (omitted > 0)
    html += `<p class="omitted" data-omitted-findings="${omitted}">${omitted} more finding${omitted === 1 ? " is" : "s are"} not listed: this image's section reached the report's size bound (2 MB). The JSON report lists every finding.</p>`;
  return html;
}

/** The image's maximum severity as a badge word: a severity, "unrated" or "none". */
export function maxLabel(image: ImageReport): Severity | "unrated" | "none" {
  if (isSeverity(image.maxSeverity)) return image.maxSeverity;
  return image.findings.length > 0 ? "unrated" : "none";
}

/** Findings that folded summaries stand for, beyond those listed. */
export function foldedTotal(list: readonly Finding[]): number {
  return list.reduce((n, f) => n + foldedCount(f), 0);
}

/** Counts of findings per severity ("unrated" for those without one). */
export function severityCounts(list: readonly Finding[]): Record<Severity | "unrated", number> {
  const counts = { critical: 0, high: 0, medium: 0, low: 0, info: 0, unrated: 0 };
  for (const f of list) counts[severityOf(f)]++;
  return counts;
}

/** The `<section>` of one image: heading, error, custody, pictures, findings by severity. */
export function imageSectionHtml(
  image: ImageReport,
  index: number,
  extras: HtmlImageExtras | undefined,
): string {
  const max = maxLabel(image);
  let html = `<section class="image" id="${imageAnchor(index)}" data-image-path="${esc(image.path)}">`;
  html += `<h2><span class="badge sev-${max}">${max}</span> ${esc(image.path)}</h2>`;
  if (image.error !== null)
    html += `<p class="error">Could not be analysed completely — <code>${esc(image.error.code)}</code>: ${esc(image.error.message)}</p>`;
  html += custody(image, extras);
  const drawn = pictures(extras?.figures ?? [], index);
  html += drawn.html;
  html += findings(image.findings, utf8Length(html));
  html += `<nav class="back"><a href="#summary">↑ summary</a></nav></section>`;
  return html;
}
