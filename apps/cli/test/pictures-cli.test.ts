import { describe, expect, it } from "vitest";
import { loadFixtureSet } from "../../../fixtures/harness/index.js";
import { runCli } from "./run-cli.js";

const set = loadFixtureSet();
const fixture = (name: string) => {
  const e = set.entries.find((x) => x.name === name);
  if (e === undefined) throw new Error(`no fixture ${name}`);
  return set.path(e);
};

describe("map --format", () => {
  it("json prints exactly what qemu-img map --output=json printed, as --json does", () => {
    const r = runCli(["map", "--format", "json", fixture("overlay")]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(set.answerText("overlay", "map.json"));
  });

  it("svg draws the host-file map and the guest map of the chosen state", () => {
    const r = runCli(["map", "--format", "svg", "--layer-only", fixture("overlay")]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<svg xmlns=/);
    expect(r.stdout).toContain('font-weight="bold">Host file</text>');
    expect(r.stdout).toContain('font-weight="bold">Guest disk — active state</text>');
    expect(r.stdout).toContain("The backing chain is not read");
  });

  it("svg refuses what map refuses: an encrypted image without its passphrase", () => {
    const text = runCli(["map", fixture("luks")]);
    const svg = runCli(["map", "--format", "svg", fixture("luks")]);
    expect(svg.code).toBe(text.code);
    expect(svg.code).not.toBe(0);
    expect(svg.stdout).toBe("");
    expect(svg.stderr).toBe(text.stderr);
  });

  it("svg of a QCOW1 image says on stderr why the host-file map is missing", () => {
    const r = runCli(["map", "--format", "svg", fixture("qcow1")]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/Host file not drawn — .*QCOW1|Host file not drawn/);
    expect(r.stdout).toContain("Guest disk — active state");
  });

  it("--json with another format is a usage error", () => {
    expect(runCli(["map", "--json", "--format", "svg", fixture("overlay")]).code).toBe(2);
  });
});

describe("audit --format html", () => {
  it("exits as the other formats do, and shows an unreadable image's error in its section", () => {
    const args = ["--now", "2100-01-01T00:00:00Z", fixture("snapshots"), fixture("random")];
    const html = runCli(["audit", "--format", "html", ...args]);
    const json = runCli(["audit", "--format", "json", ...args]);
    expect(html.code).toBe(json.code);
    expect(html.code).toBe(3);
    const error = (
      JSON.parse(json.stdout) as { images: Array<{ error: { code: string } | null }> }
    ).images.find((i) => i.error !== null)?.error?.code;
    expect(error).toBeDefined();
    expect(html.stdout).toContain(`Could not be analysed completely — <code>${error}</code>`);
  });

  it("--quick draws no map and says so", () => {
    const r = runCli(["audit", "--format", "html", "--quick", fixture("snapshots")]);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('data-figure="cell-map"');
    expect(r.stdout).toContain("<strong>Guest maps:</strong> not drawn — a quick audit");
    expect(r.stdout).toContain('data-figure="timeline"');
  });

  it("--hash-container puts the container's size and digests in the custody table", () => {
    const r = runCli([
      "audit",
      "--format",
      "html",
      "--hash-container",
      "--hash-algorithm",
      "sha256,md5",
      fixture("leak"),
    ]);
    const json = JSON.parse(
      runCli([
        "audit",
        "--format",
        "json",
        "--hash-container",
        "--hash-algorithm",
        "sha256,md5",
        fixture("leak"),
      ]).stdout,
    ) as { images: Array<{ container: { size: number; hashes: Record<string, string> } }> };
    const container = json.images[0]?.container;
    expect(container).toBeDefined();
    expect(r.stdout).toContain(
      `<dt>container size</dt><dd class="mono">${container?.size} bytes</dd>`,
    );
    for (const [algorithm, digest] of Object.entries(container?.hashes ?? {}))
      expect(r.stdout).toContain(`<dt>${algorithm}</dt><dd class="mono">${digest}</dd>`);
  });
});
