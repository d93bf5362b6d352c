import { describe, expect, it } from "vitest";
import { buildImageReport, renderText } from "../src/index.js";
import { finding, sampleEnvelope } from "./helpers.js";

// biome-ignore lint/suspicious/noControlCharactersInRegex: stripping ANSI escapes
const ANSI = /\x1b\[[0-9;]*m/g;

describe("renderText", () => {
  it("renders aligned severity, code and note columns with evidence beneath", () => {
    expect(renderText(sampleEnvelope(), { color: false })).toBe(
      [
        "disk.qcow2  [max severity: high]",
        "  high      DATA_BEYOND_EOF  Allocated cluster lies past the refcounted area",
        "              cluster  = 0x50000  @ host 0x50000+65536 (L2 table)",
        "              refcount = 0",
        "  info      V3               QCOW2 version 3",
        "              version = 3  @ QCOW2 header: version",
        '  unrated   SNAPSHOT         Snapshot "a, b"\\nwith "quotes"',
        "              name = a, b  @ guest 0x0+512",
        "",
        "clean.qcow2  [max severity: none]",
        "  no findings",
        "",
        "broken.qcow2  [max severity: none]",
        "  error NOT_QCOW2: bad magic",
        "",
      ].join("\n"),
    );
  });

  it("starts every note at the same column within an image", () => {
    const env = {
      tool: { name: "t", version: "1" },
      images: [
        buildImageReport("x", [
          finding("A", "critical", "n1"),
          finding("LONGER_CODE", "low", "n2"),
          finding("MID", undefined, "n3"),
        ]),
      ],
    };
    const lines = renderText(env, { color: false }).split("\n").slice(1, 4);
    const columns = lines.map((l) => l.search(/n\d$/));
    expect(new Set(columns).size).toBe(1);
  });

  it("emits no escape sequences when colour is off", () => {
    expect(renderText(sampleEnvelope(), { color: false })).not.toContain("\x1b");
  });

  it("colours severities when colour is on without changing the layout", () => {
    const plain = renderText(sampleEnvelope(), { color: false });
    const coloured = renderText(sampleEnvelope(), { color: true });
    expect(coloured).toContain("\x1b[31mhigh    \x1b[0m");
    expect(coloured).toContain("\x1b[2minfo    \x1b[0m");
    expect(coloured.replace(ANSI, "")).toBe(plain);
  });

  it("escapes control characters from untrusted data instead of writing them raw", () => {
    const env = {
      tool: { name: "t", version: "1" },
      images: [buildImageReport("evil\x1b[2J.qcow2", [finding("X", "low", "a\rb\u202ec")])],
    };
    const out = renderText(env, { color: false });
    expect(out).toContain("evil\\x1b[2J.qcow2");
    expect(out).toContain("a\\rb\\u202ec");
    for (const raw of ["\x1b", "\r", "\u202e"]) expect(out).not.toContain(raw);
  });

  it("labels an image whose findings are all unrated as unrated", () => {
    const env = {
      tool: { name: "t", version: "1" },
      images: [buildImageReport("x", [finding("A")])],
    };
    expect(renderText(env, { color: false })).toMatch(/^x {2}\[max severity: unrated\]\n/);
  });
});
