import { describe, expect, it } from "vitest";
import { renderJsonLines } from "../src/index.js";
import { sampleEnvelope } from "./helpers.js";

describe("renderJsonLines", () => {
  it("writes one line per finding plus one per failed image", () => {
    const out = renderJsonLines(sampleEnvelope());
    expect(out.endsWith("\n")).toBe(true);
    const lines = out.trimEnd().split("\n");
    expect(lines).toHaveLength(4);
    const records = lines.map((l) => JSON.parse(l));
    expect(records.map((r) => r.path)).toEqual([
      "disk.qcow2",
      "disk.qcow2",
      "disk.qcow2",
      "broken.qcow2",
    ]);
  });

  it("writes each finding as the finding plus its image path", () => {
    const env = sampleEnvelope();
    const first = JSON.parse(renderJsonLines(env).split("\n")[0] ?? "");
    expect(first).toEqual({ path: "disk.qcow2", ...env.images[0]?.findings[0] });
  });

  it("writes a failed image as a path and error record", () => {
    const last = renderJsonLines(sampleEnvelope()).trimEnd().split("\n").at(-1) ?? "";
    expect(JSON.parse(last)).toEqual({
      path: "broken.qcow2",
      error: { code: "NOT_QCOW2", message: "bad magic" },
    });
  });

  it("renders an envelope without findings or errors as the empty string", () => {
    expect(renderJsonLines({ tool: { name: "t", version: "1" }, images: [] })).toBe("");
  });
});
