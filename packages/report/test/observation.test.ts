import { describe, expect, it } from "vitest";
import { hostLocation, type Observation, toFinding } from "../src/index.js";

function observation(): Observation {
  return {
    severity: "medium",
    category: "integrity",
    code: "REFCOUNT_MISMATCH",
    note: "Refcount differs from usage",
    evidence: [{ field: "cluster", value: "0x30000", location: hostLocation(0x30000, 65536) }],
  };
}

const source = { analyzer: "refcounts", scope: "refcount table", version: "1.0.0" };

describe("toFinding", () => {
  it("copies every observation field and attaches the source", () => {
    expect(toFinding(observation(), source)).toEqual({
      severity: "medium",
      category: "integrity",
      code: "REFCOUNT_MISMATCH",
      note: "Refcount differs from usage",
      source,
      evidence: [{ field: "cluster", value: "0x30000", location: hostLocation(0x30000, 65536) }],
    });
  });

  it("omits the severity key for an unrated observation", () => {
    const finding = toFinding({ ...observation(), severity: undefined }, source);
    expect("severity" in finding).toBe(false);
  });

  it("does not let later mutation of the observation or source leak into the finding", () => {
    const obs = observation();
    const src = { ...source };
    const finding = toFinding(obs, src);
    obs.evidence.push({ field: "extra", value: "1" });
    const first = obs.evidence[0];
    if (first?.location?.kind !== "host") throw new Error("fixture changed");
    first.value = "changed";
    first.location.offset = 0;
    src.analyzer = "changed";
    expect(finding.evidence).toHaveLength(1);
    expect(finding.evidence[0]?.value).toBe("0x30000");
    expect(finding.evidence[0]?.location).toEqual(hostLocation(0x30000, 65536));
    expect(finding.source.analyzer).toBe("refcounts");
  });
});
