import { describe, expect, it } from "vitest";
import {
  buildImageReport,
  type CellMapFigure,
  clip,
  escapeMarkup,
  type Figure,
  type Finding,
  foldFindings,
  HTML_CSP,
  hostLocation,
  MAX_DRAWN_CELLS,
  MAX_DRAWN_EVENTS,
  type ReportEnvelope,
  renderFigureSvg,
  renderHtml,
  renderSvgDocument,
  SEVERITIES,
} from "../src/index.js";
import { finding, sampleEnvelope } from "./helpers.js";

const HOSTILE = [
  '<img src=x onerror="window.__pwned=1">',
  "</script><script>window.__pwned=2</script>",
  "\"'><svg onload=alert(1)>",
  "name\u202eevil\u0000\u001b[2J",
];

const bytes = (s: string) => Buffer.byteLength(s, "utf8");
const count = (text: string, pattern: RegExp) => (text.match(pattern) ?? []).length;

/** A cell map of `cells` cells alternating between two categories: the worst case for its size. */
function checkerboard(cells: number, title = "map"): CellMapFigure {
  const runs: number[] = [];
  for (let i = 0; i < cells; i++) runs.push(i % 2, 1);
  return {
    kind: "cell-map",
    title,
    categories: [
      { label: "a", swatch: { color: "blue" } },
      { label: "b", swatch: { color: "orange", pattern: "hatch" } },
    ],
    runs,
    cellBytes: 65536,
  };
}

function hostileFinding(text: string): Finding {
  return {
    severity: "low",
    category: "history",
    code: text,
    note: text,
    source: { analyzer: text, scope: text },
    evidence: [{ field: text, value: text, location: hostLocation(0, 1, text) }],
  };
}

describe("escapeMarkup", () => {
  it("turns markup characters into entities", () => {
    expect(escapeMarkup(`<a href="x" title='y'>&</a>`)).toBe(
      "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;",
    );
  });

  it("shows control and bidi characters as escapes, and replaces what XML forbids", () => {
    expect(escapeMarkup("a\u0000b\u001bc\u202ed\ud800e\uffff")).toBe(
      "a\\x00b\\x1bc\\u202ed\ufffde\ufffd",
    );
  });

  it("clip never splits a surrogate pair", () => {
    expect(clip("ab😀cd", 4)).toBe("ab…");
    expect(clip("short", 10)).toBe("short");
  });
});

describe("renderHtml", () => {
  it("declares a Content-Security-Policy that forbids every external load, before any content", () => {
    const html = renderHtml(sampleEnvelope());
    const csp = html.indexOf('http-equiv="Content-Security-Policy"');
    expect(csp).toBeGreaterThan(0);
    expect(csp).toBeLessThan(html.indexOf("<style>"));
    expect(HTML_CSP).toContain("default-src 'none'");
    expect(HTML_CSP).not.toMatch(/script-src|https?:/);
  });

  it("loads and runs nothing: no script, link, image, frame, or URL", () => {
    const html = renderHtml(sampleEnvelope(), {
      extras: [{ figures: [checkerboard(100)] }],
    });
    expect(html).not.toMatch(/<(script|link|img|iframe|object|embed|base|form)\b/i);
    expect(html).not.toMatch(/(src|href)="(?!#)/);
    expect(html).not.toMatch(/https?:\/\//);
  });

  it("has one data-finding-code element per finding, in a section per image with its path", () => {
    const env = sampleEnvelope();
    const html = renderHtml(env);
    for (const image of env.images) expect(html).toContain(`data-image-path="${image.path}"`);
    const codes = [...html.matchAll(/data-finding-code="([^"]*)"/g)].map((m) => m[1]);
    expect(codes).toEqual(env.images.flatMap((i) => i.findings.map((f) => f.code)));
  });

  it("groups findings by severity, highest first, unrated last", () => {
    const order = ["low", "critical", undefined, "info", "high"] as const;
    const env: ReportEnvelope = {
      tool: { name: "t", version: "1" },
      images: [
        buildImageReport(
          "x",
          order.map((s, i) => finding(`C${i}`, s)),
        ),
      ],
    };
    const groups = [...renderHtml(env).matchAll(/data-severity-group="([a-z]+)"/g)].map(
      (m) => m[1],
    );
    expect(groups).toEqual(["critical", "high", "low", "info", "unrated"]);
  });

  it("puts the summary table first, each row linking to an image section that exists", () => {
    const html = renderHtml(sampleEnvelope());
    const summary = html.indexOf('id="summary"');
    expect(summary).toBeGreaterThan(0);
    expect(summary).toBeLessThan(html.indexOf('<section class="image"'));
    const links = [...html.matchAll(/<a href="#(image-\d+)">/g)].map((m) => m[1]);
    expect(links).toEqual(["image-1", "image-2", "image-3"]);
    for (const id of links) expect(html).toContain(`id="${id}"`);
  });

  it("shows the run: tool, version, start, end and the command line quoted as typed", () => {
    const env = {
      ...sampleEnvelope(),
      run: {
        startedAt: "2026-01-01T00:00:00.000Z",
        finishedAt: "2026-01-01T00:00:02.500Z",
        commandLine: ["audit", "--format", "html", "my disk.qcow2"],
      },
    };
    const html = renderHtml(env);
    expect(html).toContain("qcow2-forensic 0.1.0");
    expect(html).toContain("2026-01-01T00:00:00.000Z");
    expect(html).toContain("2026-01-01T00:00:02.500Z");
    expect(html).toContain("2.500 s");
    expect(html).toContain("qcow2-forensic audit --format html &#39;my disk.qcow2&#39;");
  });

  it("escapes every string from the data: paths, codes, notes, evidence, errors, figure texts", () => {
    const images = HOSTILE.map((text) => ({
      ...buildImageReport(text, [hostileFinding(text)], { code: text, message: text }),
      container: { size: 1, hashes: { [text]: text } },
    }));
    const figures: Figure[] = HOSTILE.flatMap((text): Figure[] => [
      {
        ...checkerboard(3, text),
        caption: text,
        categories: [
          { label: text, swatch: { color: "blue" }, description: text },
          { label: text, swatch: { color: "grey", pattern: "dots" } },
        ],
        tail: { label: text, runs: [0, 1] },
      },
      {
        kind: "chain",
        title: text,
        edgeLabel: text,
        caption: text,
        nodes: [
          { label: text, detail: text, state: "present" },
          { label: text, state: "missing" },
        ],
      },
      {
        kind: "timeline",
        title: text,
        events: [{ time: 1_700_000_000, label: text, detail: text, flagged: true }],
        reference: { time: 1_600_000_000, label: text },
      },
      { kind: "note", title: text, text },
    ]);
    const html = renderHtml(
      { tool: { name: HOSTILE[0] as string, version: HOSTILE[1] as string }, images },
      {
        title: HOSTILE[2] as string,
        extras: images.map(() => ({
          figures,
          facts: [{ label: HOSTILE[3] as string, value: HOSTILE[0] as string }],
        })),
      },
    );
    expect(html).not.toMatch(/<(script|img|svg onload)\b/i);
    // Every "<" and quote of the data is escaped, so with attribute values blanked any tag
    // left is ours, and none may carry an event handler.
    expect(html.replace(/"[^"]*"/g, '""')).not.toMatch(/<[^>]*\son\w+\s*=/i);
    for (const raw of ["\u0000", "\u001b", "\u202e"]) expect(html).not.toContain(raw);
    expect(html).toContain("&lt;img src=x onerror=&quot;window.__pwned=1&quot;&gt;");
    expect(html).toContain("&lt;/script&gt;&lt;script&gt;window.__pwned=2&lt;/script&gt;");
  });

  it("stays under 2 MB for one image whatever it holds, and counts what it could not list", () => {
    const huge = "x".repeat(100_000);
    const findings: Finding[] = [];
    for (let code = 0; code < 40; code++)
      for (let i = 0; i < 101; i++)
        findings.push({
          ...finding(`QCOW2-CODE-${code}`, SEVERITIES[code % 5]),
          note: huge,
          evidence: Array.from({ length: 16 }, (_, k) => ({ field: `f${k}`, value: huge })),
        });
    const figures = Array.from({ length: 40 }, (_, i) => checkerboard(MAX_DRAWN_CELLS, `m${i}`));
    const env: ReportEnvelope = {
      tool: { name: "t", version: "1" },
      images: [buildImageReport("worst.qcow2", findings)],
    };
    const html = renderHtml(env, { extras: [{ figures }] });
    expect(bytes(html)).toBeLessThan(2_000_000);
    const listed = count(html, /data-finding-code=/g);
    const omitted = Number(/data-omitted-findings="(\d+)"/.exec(html)?.[1] ?? 0);
    expect(listed).toBeGreaterThan(0);
    expect(omitted).toBeGreaterThan(0);
    expect(listed + omitted).toBe(findings.length);
    expect(html).toContain("not drawn: this image's pictures reached the report's size bound");
  });

  it("a batch of 1,000 images opens with its summary table of 1,000 linked rows", () => {
    const images = Array.from({ length: 1000 }, (_, i) =>
      buildImageReport(`case/vm-${String(i).padStart(4, "0")}.qcow2`, [
        finding("QCOW2-SNAPSHOT", "low"),
        finding("QCOW2-DIRTY", i % 7 === 0 ? "high" : "low"),
      ]),
    );
    const extras = images.map(() => ({ figures: [checkerboard(64)] }));
    const html = renderHtml({ tool: { name: "t", version: "1" }, images }, { extras });
    const firstSection = html.indexOf('<section class="image"');
    const summary = html.slice(0, firstSection);
    expect(count(summary, /<tr data-summary-path=/g)).toBe(1000);
    expect(count(summary, /<a href="#image-\d+">/g)).toBe(1000);
    expect(count(html, /<section class="image" id="image-\d+"/g)).toBe(1000);
    expect(html).toContain('id="image-1000"');
    // The page grows linearly: about what each image's own section needs.
    expect(bytes(html) / 1000).toBeLessThan(30_000);
  });
});

describe("figures", () => {
  it("a cell map draws at most MAX_DRAWN_CELLS cells and says it cut the rest", () => {
    const svg = renderFigureSvg(checkerboard(MAX_DRAWN_CELLS + 10), "t-");
    expect(count(svg, /h10v10h-10z/g)).toBe(MAX_DRAWN_CELLS);
    expect(svg).toContain(`Only the first ${MAX_DRAWN_CELLS} cells are drawn.`);
  });

  it("a cell map skips malformed runs instead of drawing them", () => {
    const figure = { ...checkerboard(0), runs: [0, 2, 7, 3, 1, -1, 1, 1.5, 1, 1] };
    const svg = renderFigureSvg(figure, "t-");
    expect(count(svg, /<path d="M\d/g)).toBe(2);
    expect(svg).toContain("a: 2 cells");
    expect(svg).toContain("b: 1 cell<");
  });

  it("a timeline draws at most MAX_DRAWN_EVENTS events and counts the rest", () => {
    const events = Array.from({ length: MAX_DRAWN_EVENTS + 5 }, (_, i) => ({
      time: 1_600_000_000 + i * 3600,
      label: `e${i}`,
    }));
    const svg = renderFigureSvg({ kind: "timeline", title: "t", events }, "t-");
    expect(count(svg, /<circle /g)).toBe(MAX_DRAWN_EVENTS);
    expect(svg).toContain("5 more events are not drawn");
  });

  it("pattern ids are prefixed so that many figures can share a page", () => {
    const a = renderFigureSvg(checkerboard(4), "i0f1-");
    expect(a).toContain('id="i0f1-p1"');
    expect(a).toContain('fill="url(#i0f1-p1)"');
  });

  it("a standalone SVG document declares its namespace and size", () => {
    const doc = renderSvgDocument([checkerboard(4), { kind: "note", title: "n", text: "t" }], "x");
    expect(
      doc.startsWith(
        '<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" width=',
      ),
    ).toBe(true);
    expect(doc).toContain('id="f0-p1"');
  });
});

describe("folded findings", () => {
  it("a summary standing for findings beyond the per-code cap is marked, counted, and still one element", () => {
    const many = Array.from({ length: 5 }, (_, i) => ({
      ...finding("QCOW2-SNAPSHOT", "low"),
      evidence: [{ field: "n", value: String(i), location: hostLocation(4096 * i) }],
    }));
    const findings = foldFindings(many, 3);
    const html = renderHtml({
      tool: { name: "t", version: "1" },
      images: [buildImageReport("x.qcow2", findings)],
    });
    expect(count(html, /data-finding-code="QCOW2-SNAPSHOT"/g)).toBe(findings.length);
    expect(count(html, /data-folded-count="3"/g)).toBe(1);
    expect(html).toContain("3 more folded, 5 in all");
    expect(html).toContain('<td class="num">+3</td>');
    expect(html).toContain("3 more findings are folded into summary findings");
  });
});
