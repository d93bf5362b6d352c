/**
 * Headless Chromium for the HTML report suite: Debian's `chromium`, driven
 * by puppeteer-core (which downloads nothing), offline and with a fresh
 * profile, so the page under test is the only thing that could ask for the network.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import puppeteer, { type Browser, type Page } from "puppeteer-core";

export const CHROMIUM = process.env.QCOW2_FORENSIC_CHROMIUM ?? "/usr/bin/chromium";

/**
 * When Chromium is absent: a reason to skip (printed), or a thrown error if
 * `QCOW2_FORENSIC_REQUIRE_QEMU` is set (CI installs it and must not skip).
 */
export function chromiumOrSkipReason(): string | undefined {
  const r = spawnSync(CHROMIUM, ["--version"], { stdio: "ignore", timeout: 30_000 });
  if (!r.error && r.status === 0) return undefined;
  const reason = `${CHROMIUM} not runnable (apt-get install chromium): HTML report browser suite skipped`;
  if (process.env.QCOW2_FORENSIC_REQUIRE_QEMU)
    throw new Error(`QCOW2_FORENSIC_REQUIRE_QEMU is set but ${reason}`);
  console.warn(`[browser] ${reason}`);
  return reason;
}

export function launchChromium(): Promise<Browser> {
  return puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      `--user-data-dir=${mkdtempSync(join(tmpdir(), "qcow2-chromium-"))}`,
    ],
  });
}

/** A page and everything it did: every request it made, every console message and page error. */
export interface OpenedPage {
  page: Page;
  requests: string[];
  problems: string[];
}

/**
 * Opens `file` in a new page. Every request is recorded, and all but the
 * file itself are aborted; console messages and uncaught errors are
 * recorded as problems. `bypassCSP` lifts the page's Content-Security-Policy,
 * so that only escaping stands between a hostile name and the script engine.
 */
export async function openFile(
  browser: Browser,
  file: string,
  options: { bypassCSP?: boolean } = {},
): Promise<OpenedPage> {
  const page = await browser.newPage();
  const url = `file://${file}`;
  const requests: string[] = [];
  const problems: string[] = [];
  if (options.bypassCSP) await page.setBypassCSP(true);
  await page.setRequestInterception(true);
  page.on("request", (r) => {
    requests.push(r.url());
    if (r.url() === url) void r.continue();
    else void r.abort();
  });
  page.on("console", (m) => problems.push(`console.${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) =>
    problems.push(`pageerror: ${e instanceof Error ? e.message : String(e)}`),
  );
  await page.setViewport({ width: 1100, height: 900 });
  await page.goto(url, { waitUntil: "load" });
  return { page, requests, problems };
}
