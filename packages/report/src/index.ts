export type {
  CellMapFigure,
  CellRuns,
  ChainFigure,
  ChainNode,
  Figure,
  MapCategory,
  NoteFigure,
  TimelineEvent,
  TimelineFigure,
} from "./figures/figure.js";
export { MAX_DRAWN_CELLS, MAX_DRAWN_EVENTS, MAX_DRAWN_NODES } from "./figures/figure.js";
export { PALETTE, type PaletteColor, type Pattern, type Swatch } from "./figures/palette.js";
export { renderFigureSvg, renderSvgDocument } from "./figures/render-svg.js";
export type { Category, Evidence, Finding, Folded, Source } from "./finding.js";
export { CATEGORIES, isCategory } from "./finding.js";
export { DEFAULT_MAX_FINDINGS_PER_CODE, foldFindings, isFolded } from "./fold.js";
export type { FieldLocation, GuestLocation, HostLocation, Location } from "./location.js";
export {
  fieldLocation,
  formatLocation,
  guestLocation,
  hostLocation,
} from "./location.js";
export type { Observation } from "./observation.js";
export { toFinding } from "./observation.js";
export { shouldUseColor } from "./render/color.js";
export { renderCsv } from "./render/csv.js";
export { escapeForTerminal } from "./render/escape.js";
export { HTML_CSP, type HtmlOptions, htmlChunks, renderHtml } from "./render/html/html.js";
export {
  DETAIL_BUDGET,
  FIGURE_BUDGET,
  type HtmlImageExtras,
  SECTION_BUDGET,
} from "./render/html/image-section.js";
export { renderJson } from "./render/json.js";
export { renderJsonLines } from "./render/jsonl.js";
export { clip, escapeMarkup } from "./render/markup.js";
export type { SarifLevel, SarifOptions } from "./render/sarif.js";
export { renderSarif, sarifLevel } from "./render/sarif.js";
export type { TextOptions } from "./render/text.js";
export { renderText } from "./render/text.js";
export type {
  ContainerFacts,
  ImageReport,
  RemoteFacts,
  ReportEnvelope,
  ReportError,
  RunInfo,
} from "./report.js";
export {
  buildImageReport,
  envelopeMaxSeverity,
  filterBySeverity,
  maxSeverityOf,
  sortFindings,
} from "./report.js";
export { REPORT_LINE_SCHEMA_URL, REPORT_SCHEMA_URL } from "./schema.js";
export type { Severity } from "./severity.js";
export {
  compareSeverity,
  isSeverity,
  maxSeverity,
  parseSeverity,
  SEVERITIES,
} from "./severity.js";
