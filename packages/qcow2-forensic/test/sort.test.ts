import { compareSeverity } from "@x/report";
import { describe, expect, it } from "vitest";
import type { AnomalyCode, Qcow2Anomaly } from "../src/index.js";
import { KINDS, sortAnomalies } from "../src/index.js";

// sortAnomalies orders by code buckets; the contract is the plain stable sort by severity
// (highest first), then code in the collator's order, then position.
function plain(anomalies: readonly Qcow2Anomaly[]): Qcow2Anomaly[] {
  return anomalies
    .map((a, i) => ({ a, i }))
    .sort(
      (x, y) =>
        compareSeverity(KINDS[y.a.code].severity, KINDS[x.a.code].severity) ||
        x.a.code.localeCompare(y.a.code) ||
        x.i - y.i,
    )
    .map((x) => x.a);
}

const CODES = Object.keys(KINDS) as AnomalyCode[];

/** Every code several times, interleaved; `at` tells equal codes apart (the sort reads only the code). */
function mixed(count: number): Qcow2Anomaly[] {
  return Array.from(
    { length: count },
    (_, i) => ({ code: CODES[(i * 7919) % CODES.length], at: i }) as unknown as Qcow2Anomaly,
  );
}

describe("sortAnomalies", () => {
  it("knows more than one code and more than one severity", () => {
    expect(CODES.length).toBeGreaterThan(10);
    expect(new Set(CODES.map((c) => KINDS[c].severity)).size).toBeGreaterThan(2);
  });
  for (const count of [0, 1, 2, 41, 1000]) {
    it(`orders ${count} anomalies as the plain sort does`, () => {
      const list = mixed(count);
      const sorted = sortAnomalies(list);
      expect(sorted).toEqual(plain(list));
      // The same objects, not copies.
      for (const a of sorted) expect(list).toContain(a);
    });
  }
});
