import { foldFindings, sortFindings, toFinding } from "@x/report";
import { describe, expect, it } from "vitest";
import type { Qcow2Anomaly } from "../src/index.js";
import { ANALYZER_SOURCE, observe, toFindings } from "../src/index.js";

// toFindings makes the findings that fold with only what the fold reads. Its output must be the
// very one the plain way gives: every anomaly observed in full, sorted, then folded.
function plain(anomalies: readonly Qcow2Anomaly[], max: number) {
  return foldFindings(
    sortFindings(anomalies.map((a) => toFinding(observe(a), ANALYZER_SOURCE))),
    max,
  );
}

/** Snapshot and divergence findings of many snapshots, interleaved with a few of other codes. */
function anomalies(count: number): Qcow2Anomaly[] {
  const out: Qcow2Anomaly[] = [{ code: "QCOW2-INTERNAL-SNAPSHOTS", count }];
  for (let i = 0; i < count; i++) {
    const offset = 0x30000 + ((i * 7919) % count) * 64;
    out.push({
      code: "QCOW2-SNAPSHOT",
      id: String(i + 1),
      name: `s${i}`,
      dateSec: 1_700_000_000 + i,
      dateNsec: 0,
      vmStateSize: i % 3 === 0 ? 0 : 4096 * i,
      offset,
    });
    out.push({
      code: "QCOW2-DIVERGENCE",
      against: "snapshot",
      id: String(i + 1),
      name: `s${i}`,
      offset,
      extents: i % 5 === 0 ? null : count - i,
      bytes: i % 5 === 0 ? null : (count - i) * 65536,
      first: i % 4 === 0 ? null : { start: i * 65536, length: 65536 },
      command: `qcow2-forensic diff disk.qcow2 --from snapshot:${i + 1}`,
    });
    if (i % 50 === 0) out.push({ code: "QCOW2-DIRTY" });
  }
  return out;
}

describe("toFindings folds as the plain way does", () => {
  for (const count of [0, 1, 9, 10, 11, 120]) {
    for (const max of [0, 1, 2, 10, 100, 1.5, -3]) {
      it(`${count} snapshots, at most ${max} per code`, () => {
        const list = anomalies(count);
        expect(toFindings(list, ANALYZER_SOURCE, { maxFindingsPerCode: max })).toEqual(
          plain(list, max),
        );
      });
    }
  }
});

describe("the findings toFindings answers own their sources", () => {
  it("no two findings, folded or not, share a source object, nor share the one given", () => {
    const findings = toFindings(anomalies(300), ANALYZER_SOURCE, { maxFindingsPerCode: 10 });
    expect(findings.filter((f) => f.folded !== undefined).length).toBe(2);
    const sources = findings.map((f) => f.source);
    expect(new Set(sources).size).toBe(sources.length);
    expect(sources).not.toContain(ANALYZER_SOURCE);
  });
});
