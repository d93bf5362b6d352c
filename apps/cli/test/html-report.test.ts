import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { buildImageReport, renderHtml } from "@x/report";
import type { Browser } from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadFixtureSet, qemuOrSkipReason } from "../../../fixtures/harness/index.js";
import { chromiumOrSkipReason, launchChromium, type OpenedPage, openFile } from "./browser.js";
import { runCli } from "./run-cli.js";

/** Screenshots land here (gitignored) for a person to look at after a run. */
const ARTIFACTS = resolve(dirname(fileURLToPath(import.meta.url)), "../test-artifacts");
const NOW = "2100-01-01T00:00:00Z";
const set = loadFixtureSet();
const fixture = (name: string) => {
  const e = set.entries.find((x) => x.name === name);
  if (e === undefined) throw new Error(`no fixture ${name}`);
  return set.path(e);
};

/** Names written into a real image by qemu-img: each would run script if it reached the page as markup. */
const HOSTILE_SNAPSHOTS = [
  '<img src=x onerror="window.__pwned=1">',
  "</script><script>window.__pwned=2</script>",
];
const HOSTILE_BACKING = '<svg onload="window.__pwned=3">.qcow2';
const HOSTILE_FILE = '"><img src=x onerror="window.__pwned=4">.qcow2';

const BATCH = [
  "snapshots",
  "overlay",
  "chain-top",
  "leak",
  "orphan",
  "metadata-overlap",
  "offset-beyond-eof",
  "compressed-zlib",
  "zstd",
  "luks",
  "backing-missing",
  "bitmaps",
  "qcow1",
];

const skip = qemuOrSkipReason() ?? chromiumOrSkipReason();

interface JsonReport {
  images: Array<{ path: string; findings: Array<{ code: string; folded?: { count: number } }> }>;
}

/** Runs `audit` with `args` as HTML and as JSON: the same inputs and audit clock give the same findings. */
function audit(dir: string, name: string, args: string[]): { html: string; json: JsonReport } {
  const common = ["--now", NOW, "--quiet", ...args];
  const html = runCli(["audit", "--format", "html", ...common]);
  const file = join(dir, `${name}.html`);
  writeFileSync(file, html.stdout);
  const json = JSON.parse(runCli(["audit", "--format", "json", ...common]).stdout) as JsonReport;
  return { html: file, json };
}

describe.skipIf(skip !== undefined)("HTML report in headless Chromium", () => {
  let browser: Browser;
  let dir: string;
  let hostile: { html: string; json: JsonReport };
  let batch: { html: string; json: JsonReport };
  // One page per file (and CSP setting), shared by the tests that only read it.
  const opened = new Map<string, Promise<OpenedPage>>();
  const open = (file: string, options: { bypassCSP?: boolean } = {}) => {
    const key = `${file}\0${Boolean(options.bypassCSP)}`;
    let page = opened.get(key);
    if (page === undefined) {
      page = openFile(browser, file, options);
      opened.set(key, page);
    }
    return page;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "qcow2-html-"));
    mkdirSync(ARTIFACTS, { recursive: true });
    const img = join(dir, "hostile.qcow2");
    const qemu = (tool: string, ...args: string[]) =>
      execFileSync(tool, args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
    qemu("qemu-img", "create", "-q", "-f", "qcow2", "base.qcow2", "1M");
    qemu("qemu-img", "create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", img);
    qemu("qemu-io", "-c", "write -P 0xab 0 64k", "-c", "write -z 256k 64k", img);
    qemu("qemu-img", "snapshot", "-c", HOSTILE_SNAPSHOTS[0] as string, img);
    qemu("qemu-io", "-c", "write -P 0xcd 128k 64k", img);
    qemu("qemu-img", "snapshot", "-c", HOSTILE_SNAPSHOTS[1] as string, img);
    qemu("qemu-img", "rebase", "-u", "-b", HOSTILE_BACKING, "-F", "qcow2", img);
    copyFileSync(img, join(dir, HOSTILE_FILE));
    // A cap of one finding per code folds the second snapshot's finding into a summary.
    hostile = audit(dir, "hostile", ["--max-findings-per-code", "1", img, join(dir, HOSTILE_FILE)]);
    batch = audit(dir, "batch", [
      "--jobs",
      "2",
      "--passphrase-file",
      fixture("luks").replace(/luks\.qcow2$/, "luks.passphrase"),
      ...BATCH.map(fixture),
    ]);
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
  });

  it("each report loads nothing but its own file and logs no console message or page error", async () => {
    for (const file of [hostile.html, batch.html]) {
      const { requests, problems } = await open(file);
      expect(requests).toEqual([`file://${file}`]);
      expect(problems).toEqual([]);
    }
  });

  it("has one data-finding-code element per finding of the JSON report, image by image, in order", async () => {
    for (const report of [hostile, batch]) {
      const { page } = await open(report.html);
      const shown = await page.$$eval("section.image", (sections) =>
        sections.map((s) => ({
          path: s.getAttribute("data-image-path"),
          codes: [...s.querySelectorAll("[data-finding-code]")].map((f) =>
            f.getAttribute("data-finding-code"),
          ),
          folded: [...s.querySelectorAll("[data-finding-code]")].map((f) =>
            Number(f.getAttribute("data-folded-count") ?? 0),
          ),
        })),
      );
      expect(shown).toEqual(
        report.json.images.map((i) => ({
          path: i.path,
          codes: i.findings.map((f) => f.code),
          folded: i.findings.map((f) => f.folded?.count ?? 0),
        })),
      );
      expect(shown.reduce((n, s) => n + s.codes.length, 0)).toBeGreaterThan(5);
    }
    // The capped report really folded something, and shows it.
    const { page } = await open(hostile.html);
    expect(await page.$$eval("[data-folded-count]", (all) => all.length)).toBeGreaterThan(0);
  });

  it("shows hostile names as text and runs none of them, even with the CSP lifted", async () => {
    const { page, problems } = await open(hostile.html, { bypassCSP: true });
    expect(await page.evaluate(() => (window as { __pwned?: unknown }).__pwned)).toBeUndefined();
    const text = await page.evaluate(() => document.body.textContent ?? "");
    for (const name of [...HOSTILE_SNAPSHOTS, HOSTILE_BACKING, HOSTILE_FILE])
      expect(text).toContain(name);
    const active = await page.evaluate(
      () =>
        document.querySelectorAll("script, img, iframe, object, embed, link, base, form").length +
        [...document.querySelectorAll("*")].filter((el) =>
          [...el.attributes].some((a) => a.name.startsWith("on")),
        ).length,
    );
    expect(active).toBe(0);
    expect(problems).toEqual([]);
    // The names are in the pictures too: the snapshot guest maps' titles and the chain diagram.
    const svgText = await page.$$eval("svg", (svgs) => svgs.map((s) => s.textContent).join("\n"));
    for (const name of [...HOSTILE_SNAPSHOTS, HOSTILE_BACKING]) expect(svgText).toContain(name);
  });

  it("every image section has its maps: host file, active guest disk, and each snapshot", async () => {
    const { page } = await open(batch.html);
    const sections = await page.$$eval("section.image", (all) =>
      all.map((s) => ({
        path: s.getAttribute("data-image-path") ?? "",
        maps: [...s.querySelectorAll('figure[data-figure="cell-map"] > svg')].map((svg) =>
          svg.getAttribute("aria-label"),
        ),
        notes: [...s.querySelectorAll("p.picture-note")].map((p) => p.textContent ?? ""),
      })),
    );
    expect(sections).toHaveLength(BATCH.length);
    for (const s of sections) {
      const findings = batch.json.images.find((i) => i.path === s.path)?.findings ?? [];
      const snapshots = findings.filter((f) => f.code === "QCOW2-SNAPSHOT").length;
      const qcow1 = findings.some((f) => f.code === "QCOW2-QCOW1");
      expect(
        s.maps.filter((m) => m === "Host file"),
        s.path,
      ).toHaveLength(qcow1 ? 0 : 1);
      if (qcow1) expect(s.notes.join(" ")).toMatch(/Host file:.*QCOW1/);
      expect(
        s.maps.filter((m) => m === "Guest disk — active state"),
        s.path,
      ).toHaveLength(1);
      expect(
        s.maps.filter((m) => m?.startsWith("Guest disk — snapshot")),
        s.path,
      ).toHaveLength(snapshots);
    }
  });

  it("prints one image per page", async () => {
    const { page } = await open(batch.html);
    await page.emulateMediaType("print");
    const breaks = await page.$$eval("section.image", (all) =>
      all.map((s) => getComputedStyle(s).breakBefore),
    );
    await page.emulateMediaType("screen");
    expect(breaks).toEqual(BATCH.map(() => "page"));
  });

  it("map --format svg is a standalone SVG document with the host-file and guest maps", async () => {
    const r = runCli(["map", "--format", "svg", "--snapshot", "1", fixture("snapshots")]);
    expect(r.code).toBe(0);
    const file = join(dir, "maps.svg");
    writeFileSync(file, r.stdout);
    const { page, requests, problems } = await open(file);
    const labels = await page.evaluate(() => ({
      root: document.documentElement.localName,
      errors: document.getElementsByTagName("parsererror").length,
      titles: [...document.querySelectorAll("g > text[font-weight=bold]")].map(
        (t) => t.textContent,
      ),
    }));
    expect(labels.root).toBe("svg");
    expect(labels.errors).toBe(0);
    expect(labels.titles[0]).toBe("Host file");
    expect(labels.titles[1]).toMatch(/^Guest disk — snapshot id 1 /);
    expect(requests).toEqual([`file://${file}`]);
    expect(problems).toEqual([]);
  });

  it("a 1,000-image report opens on its summary, and every row's link finds its section", async () => {
    const images = Array.from({ length: 1000 }, (_, i) =>
      buildImageReport(`case/vm-${i}.qcow2`, []),
    );
    const file = join(dir, "thousand.html");
    writeFileSync(file, renderHtml({ tool: { name: "qcow2-forensic", version: "test" }, images }));
    const { page, problems } = await open(file);
    const layout = await page.evaluate(() => {
      const links = [...document.querySelectorAll<HTMLAnchorElement>("#summary a[href^='#']")];
      const summary = document.getElementById("summary");
      return {
        rows: document.querySelectorAll("#summary tbody tr").length,
        linked: links.filter(
          (a) => document.getElementById(a.hash.slice(1))?.localName === "section",
        ).length,
        summaryTop: summary?.getBoundingClientRect().top ?? -1,
      };
    });
    expect(layout).toEqual({ rows: 1000, linked: 1000, summaryTop: expect.any(Number) });
    expect(layout.summaryTop).toBeLessThan(900);
    await page.click("#summary tbody tr:last-child a");
    expect(await page.evaluate(() => location.hash)).toBe("#image-1000");
    expect(problems).toEqual([]);
  });

  it("screenshots of the two reports are written as test artefacts", async () => {
    for (const [file, name] of [
      [hostile.html, "hostile-report.png"],
      [batch.html, "batch-report.png"],
    ] as const) {
      const { page } = await open(file);
      // The top of the page (run, summary, first images): a whole batch would be a very tall picture.
      // The page is brought to the front and its viewport made the picture's size: a background tab
      // captured beyond its viewport can wait for a frame that never comes (seen once on a busy machine).
      await page.bringToFront();
      await page.evaluate(() => window.scrollTo(0, 0));
      const height = await page.evaluate(() => document.documentElement.scrollHeight);
      await page.setViewport({ width: 1100, height: Math.min(height, 4000) });
      await page.screenshot({ path: join(ARTIFACTS, name), captureBeyondViewport: false });
    }
  });
});
