// One inline stylesheet: the report loads nothing. Severity colours are from the
// Okabe–Ito palette and every badge also says its severity in words.
export const STYLES = `
:root { color-scheme: light; --ink: #111; --muted: #555; --rule: #ccc; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); margin: 0 auto; max-width: 1100px; padding: 1.5rem; }
h1 { font-size: 1.6rem; margin: 0 0 .5rem; }
h2 { font-size: 1.25rem; margin: 2rem 0 .5rem; border-bottom: 2px solid var(--ink); padding-bottom: .2rem; overflow-wrap: anywhere; }
h3 { font-size: 1.05rem; margin: 1.4rem 0 .4rem; }
h4 { font-size: .95rem; margin: 1rem 0 .3rem; }
code, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: .92em; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: .25rem .5rem; border-bottom: 1px solid var(--rule); overflow-wrap: anywhere; }
th { background: #f3f3f3; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
table.summary th { white-space: nowrap; }
table.summary td:first-child { width: 55%; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .15rem 1rem; margin: 0; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
.badge { display: inline-block; min-width: 4.6em; text-align: center; border-radius: 3px; padding: 0 .35em; font-size: .85em; font-weight: 600; border: 1px solid #0003; }
.sev-critical { background: #000; color: #fff; }
.sev-high { background: #d55e00; color: #fff; }
.sev-medium { background: #e69f00; color: #000; }
.sev-low { background: #56b4e9; color: #000; }
.sev-info { background: #e8e8e8; color: #000; }
.sev-unrated, .sev-none { background: #fff; color: #000; }
.error { border-left: 4px solid #d55e00; padding: .3rem .6rem; background: #fff4ec; }
.finding { border: 1px solid var(--rule); border-radius: 4px; padding: .4rem .6rem; margin: .4rem 0; break-inside: avoid; }
.finding header { display: flex; gap: .6rem; align-items: baseline; flex-wrap: wrap; }
.finding .category { color: var(--muted); font-size: .85em; }
.finding p { margin: .25rem 0; overflow-wrap: anywhere; }
.finding.compact { padding: .2rem .6rem; }
.finding.folded { border-style: dashed; background: #fafafa; }
.folded-mark { font-size: .85em; font-weight: 600; border: 1px dashed #555; border-radius: 3px; padding: 0 .35em; }
table.evidence { font-size: .9em; margin-top: .2rem; }
table.evidence td:first-child { width: 22%; }
table.evidence td:last-child { width: 30%; color: var(--muted); }
.omitted, .notice { color: var(--muted); font-style: italic; }
figure.picture { margin: .6rem 0 1rem; }
figure.picture svg { width: 100%; height: auto; max-width: 900px; display: block; }
p.picture-note { border-left: 4px solid #999; padding: .2rem .6rem; background: #f6f6f6; }
section.image { content-visibility: auto; contain-intrinsic-size: auto 1200px; }
nav.back { font-size: .85em; margin-top: 1rem; }
@media print {
  body { max-width: none; padding: 0; font-size: 11pt; }
  section.image { break-before: page; content-visibility: visible; }
  nav.back { display: none; }
  a { color: inherit; text-decoration: none; }
  figure.picture { break-inside: avoid; }
  * { print-color-adjust: exact; -webkit-print-color-adjust: exact; }
}
`;
