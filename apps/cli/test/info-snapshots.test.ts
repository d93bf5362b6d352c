import { describe, expect, it } from "vitest";
import { loadFixtureSet } from "../../../fixtures/harness/index.js";
import { defineInfoSuite } from "./info-suite.js";
import { explain, parseJsonOutput, runCli } from "./run-cli.js";

const committed = loadFixtureSet();

defineInfoSuite("committed fixtures", () => committed);

describe("snapshots", () => {
  const entry = committed.entries.find((e) => e.name === "snapshots");
  if (!entry) throw new Error("snapshots fixture missing");

  it("--json lists qemu-img's snapshot objects", () => {
    const r = runCli(["snapshots", "--json", committed.path(entry)]);
    expect(r.code, explain(r)).toBe(0);
    const qemu = committed.answerJson<{ snapshots: unknown[] }>(entry.name, "info.json");
    expect(parseJsonOutput(r)).toEqual(qemu?.snapshots);
  });

  it("prints a table with each snapshot's name", () => {
    const r = runCli(["snapshots", committed.path(entry)]);
    expect(r.code, explain(r)).toBe(0);
    for (const name of entry.expect.snapshots as string[]) expect(r.stdout).toContain(name);
  });

  it("prints an empty list for an image without snapshots", () => {
    const clean = committed.entries.find((e) => e.name === "clean-v3");
    if (!clean) throw new Error("clean-v3 fixture missing");
    const r = runCli(["snapshots", "--json", committed.path(clean)]);
    expect(parseJsonOutput(r)).toEqual([]);
  });
});

describe("info text view", () => {
  it("names the backing file and its format", () => {
    const overlay = committed.entries.find((e) => e.name === "overlay");
    if (!overlay) throw new Error("overlay fixture missing");
    const r = runCli(["info", committed.path(overlay)]);
    expect(r.code, explain(r)).toBe(0);
    expect(r.stdout).toMatch(/backing file:\s+base\.qcow2 \(format qcow2\)/);
  });
});
