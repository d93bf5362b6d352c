import { describe, expect, it } from "vitest";
import {
  buildImageReport,
  envelopeMaxSeverity,
  filterBySeverity,
  maxSeverityOf,
  sortFindings,
} from "../src/index.js";
import { finding } from "./helpers.js";

describe("sortFindings", () => {
  it("orders by severity descending with unrated findings after info", () => {
    const sorted = sortFindings([
      finding("A"),
      finding("B", "info"),
      finding("C", "critical"),
      finding("D", "medium"),
    ]);
    expect(sorted.map((f) => f.severity)).toEqual(["critical", "medium", "info", undefined]);
  });

  it("orders findings of equal severity by code ascending", () => {
    const sorted = sortFindings([finding("ZED", "high"), finding("ALPHA", "high")]);
    expect(sorted.map((f) => f.code)).toEqual(["ALPHA", "ZED"]);
  });

  it("keeps the original order of findings with equal severity and code", () => {
    const sorted = sortFindings([
      finding("SAME", "low", "first"),
      finding("SAME", "high", "top"),
      finding("SAME", "low", "second"),
      finding("SAME", "low", "third"),
    ]);
    expect(sorted.map((f) => f.note)).toEqual(["top", "first", "second", "third"]);
  });

  it("does not modify its input", () => {
    const input = [finding("B", "low"), finding("A", "high")];
    sortFindings(input);
    expect(input.map((f) => f.code)).toEqual(["B", "A"]);
  });
});

describe("filterBySeverity", () => {
  const all = [finding("A", "info"), finding("B", "medium"), finding("C"), finding("D", "high")];

  it("keeps only findings at or above the minimum and drops unrated ones", () => {
    expect(filterBySeverity(all, "medium").map((f) => f.code)).toEqual(["B", "D"]);
    expect(filterBySeverity(all, "info").map((f) => f.code)).toEqual(["A", "B", "D"]);
  });

  it("keeps everything, unrated included, when no minimum is set", () => {
    expect(filterBySeverity(all, undefined)).toEqual(all);
  });
});

describe("maximum severity", () => {
  it("ignores unrated findings when computing the maximum", () => {
    expect(maxSeverityOf([finding("A"), finding("B", "low")])).toBe("low");
    expect(maxSeverityOf([finding("A")])).toBeUndefined();
  });

  it("builds an image report with sorted findings, max severity and a null error", () => {
    const img = buildImageReport("x.qcow2", [finding("A", "low"), finding("B", "high")]);
    expect(img.findings.map((f) => f.code)).toEqual(["B", "A"]);
    expect(img.maxSeverity).toBe("high");
    expect(img.error).toBeNull();
  });

  it("reports a null max severity for an image with only unrated findings", () => {
    expect(buildImageReport("x.qcow2", [finding("A")]).maxSeverity).toBeNull();
  });

  it("takes the envelope maximum across all images", () => {
    const envelope = {
      tool: { name: "t", version: "1" },
      images: [
        buildImageReport("a", [finding("A", "low")]),
        buildImageReport("b", [finding("B", "critical")]),
        buildImageReport("c", [], { code: "E", message: "failed" }),
      ],
    };
    expect(envelopeMaxSeverity(envelope)).toBe("critical");
    expect(envelopeMaxSeverity({ ...envelope, images: [] })).toBeNull();
  });
});
