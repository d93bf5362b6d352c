import { describe, expect, it } from "vitest";
import {
  compareSeverity,
  isSeverity,
  maxSeverity,
  parseSeverity,
  SEVERITIES,
  type Severity,
} from "../src/index.js";

describe("severity", () => {
  it("lists severities in ascending order", () => {
    expect(SEVERITIES).toEqual(["info", "low", "medium", "high", "critical"]);
  });

  it("compares severities so that sorting yields ascending order", () => {
    const shuffled: Severity[] = ["critical", "info", "high", "low", "medium"];
    expect([...shuffled].sort(compareSeverity)).toEqual(SEVERITIES);
    expect(compareSeverity("medium", "medium")).toBe(0);
    expect(compareSeverity("low", "high")).toBeLessThan(0);
  });

  it("returns the most severe entry as the maximum", () => {
    expect(maxSeverity(["low", "critical", "info"])).toBe("critical");
  });

  it("returns undefined as the maximum of an empty list", () => {
    expect(maxSeverity([])).toBeUndefined();
  });

  it("recognises only exact lower-case severities as severities", () => {
    expect(isSeverity("high")).toBe(true);
    expect(isSeverity("HIGH")).toBe(false);
    expect(isSeverity("toString")).toBe(false);
    expect(isSeverity(3)).toBe(false);
  });

  it("parses severities case-insensitively and returns undefined for unknown input", () => {
    expect(parseSeverity(" Critical ")).toBe("critical");
    expect(parseSeverity("MEDIUM")).toBe("medium");
    expect(parseSeverity("severe")).toBeUndefined();
    expect(parseSeverity("")).toBeUndefined();
  });
});
