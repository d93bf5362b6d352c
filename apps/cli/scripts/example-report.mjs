#!/usr/bin/env node
// Regenerates docs/example-report.html (an HTML audit of three committed fixtures)
// and its screenshot docs/example-report.png, with the built CLI and Debian's chromium.
// Run after `pnpm build`: node apps/cli/scripts/example-report.mjs
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import puppeteer from "puppeteer-core";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const html = join(root, "docs/example-report.html");
// Copied into a neutral case folder, so the report shows no path of this machine's checkout.
const caseDir = join(tmpdir(), "case-0001");
rmSync(caseDir, { recursive: true, force: true });
mkdirSync(join(caseDir, "evidence"), { recursive: true });
const files = ["snapshots.qcow2", "overlay.qcow2", "base.qcow2", "leak.qcow2"];
for (const f of files) copyFileSync(join(root, "fixtures/images", f), join(caseDir, "evidence", f));
const images = ["snapshots.qcow2", "overlay.qcow2", "leak.qcow2"].map((f) => `evidence/${f}`);
const cli = join(root, "apps/cli/dist/cli.js");
const report = execFileSync(
  process.execPath,
  [
    cli,
    "audit",
    "--format",
    "html",
    "--hash-container",
    "--now",
    "2026-06-01T00:00:00Z",
    ...images,
  ],
  { cwd: caseDir, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 },
);
writeFileSync(html, report);

const browser = await puppeteer.launch({
  executablePath: process.env.QCOW2_FORENSIC_CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    `--user-data-dir=${mkdtempSync(join(tmpdir(), "qcow2-chromium-"))}`,
  ],
});
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1000, height: 800 });
  await page.goto(`file://${html}`, { waitUntil: "load" });
  await page.screenshot({
    path: join(root, "docs/example-report.png"),
    clip: { x: 0, y: 0, width: 1000, height: 2600 },
    captureBeyondViewport: true,
  });
} finally {
  await browser.close();
}
