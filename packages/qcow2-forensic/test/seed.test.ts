import {
  decodeFeatures,
  inspect,
  type Qcow2Info,
  type Qcow2Snapshot,
  type RefcountReport,
} from "@x/qcow2-core";
import { openFileSource } from "@x/qcow2-core/node";
import { toFinding } from "@x/report";
import { beforeAll, describe, expect, it } from "vitest";
import { loadFixtureSet } from "../../../fixtures/harness/index.js";
import type { Qcow2Anomaly } from "../src/index.js";
import { ANALYZER_SOURCE, audit, auditOrphans, auditSnapshots, observe } from "../src/index.js";

// Counterparts of the seed's forensic unit tests, starting from the header of a
// real qemu-img image and changing one fact at a time.
let clean: Qcow2Info;

beforeAll(async () => {
  const set = loadFixtureSet();
  const entry = set.entries.find((e) => e.name === "clean-v3");
  if (!entry) throw new Error("clean-v3 fixture missing");
  const source = await openFileSource(set.path(entry));
  clean = await inspect(source);
  await source.close();
});

const info = (change: Partial<Qcow2Info> = {}): Qcow2Info => ({
  ...structuredClone(clean),
  ...change,
});
const withIncompatible = (bits: bigint) =>
  info({ incompatibleFeatures: decodeFeatures("incompatible", bits) });
const codes = (a: Qcow2Anomaly[]) => a.map((x) => x.code);
const joined = (a: Qcow2Anomaly) =>
  observe(a)
    .evidence.map((e) => `${e.field}=${e.value}`)
    .join(";");
const backing = (name: string | null, format: string | null) =>
  info({
    backingFile: { offset: 512, size: name?.length ?? 0, name, lossy: false },
    hasBackingFile: true,
    backingFormat: format,
  });

function snap(name: string, dateSec: number): Qcow2Snapshot {
  return {
    index: 0,
    offset: 0x30000,
    id: "1",
    name,
    dateSec,
    dateNsec: 0,
    vmClockSec: 0,
    vmClockNsec: 0,
    vmStateSize32: 0,
    vmStateSize: 0,
    diskSize: null,
    icount: null,
    l1TableOffset: 0x40000,
    l1Size: 1,
    extraDataSize: 24,
    pastEof: "none",
  };
}

function report(allocated: number, orphans: number): RefcountReport {
  return {
    refcountOrder: 4,
    refcountBits: 16,
    refcountTableOffset: 65536,
    refcountTableClusters: 1,
    allocatedClusters: allocated,
    orphanClusters: orphans,
    orphans: Array.from({ length: orphans }, (_, i) => ({
      hostOffset: (5 + i) * 65536,
      guestOffset: i * 65536,
    })),
    unresolvedClusters: 0,
  };
}

describe("audit (header)", () => {
  it("a clean image has no anomalies", () => {
    expect(audit(info())).toEqual([]);
  });

  it("every header anomaly kind is emitted and round-trips to a finding", () => {
    const all = audit({
      ...backing("base.qcow2", "qcow2"),
      encryptionMethod: 1,
      encryption: "aes",
      snapshotCount: 4,
      incompatibleFeatures: decodeFeatures("incompatible", 0b111n),
    });
    for (const code of [
      "QCOW2-BACKING-FILE",
      "QCOW2-ENCRYPTED",
      "QCOW2-INTERNAL-SNAPSHOTS",
      "QCOW2-DIRTY",
      "QCOW2-CORRUPT",
      "QCOW2-EXTERNAL-DATA",
    ]) {
      expect(codes(all)).toContain(code);
    }
    for (const a of all) {
      const f = toFinding(observe(a), ANALYZER_SOURCE);
      expect(f.code.startsWith("QCOW2-")).toBe(true);
      expect(f.severity).toBeDefined();
      expect(f.note).not.toBe("");
      expect(f.evidence.length).toBeGreaterThan(0);
    }
  });

  it("grades corrupt high and dirty low", () => {
    const found = audit(withIncompatible(0b11n)).map(observe);
    expect(found.find((f) => f.code === "QCOW2-CORRUPT")?.severity).toBe("high");
    expect(found.find((f) => f.code === "QCOW2-DIRTY")?.severity).toBe("low");
  });

  it("a backing-file finding names the referenced image and its format", () => {
    const a = audit(backing("base.qcow2", "qcow2")).find((x) => x.code === "QCOW2-BACKING-FILE");
    expect(a).toBeDefined();
    expect(observe(a as Qcow2Anomaly).note).toContain("base.qcow2");
    expect(joined(a as Qcow2Anomaly)).toContain("backing_file=base.qcow2");
    expect(joined(a as Qcow2Anomaly)).toContain("backing_format=qcow2");
  });

  it("a backing file whose name could not be read still yields a generic finding", () => {
    expect(codes(audit(backing(null, null)))).toContain("QCOW2-BACKING-FILE");
  });

  it("a backing name without a format has no format clause", () => {
    const a = audit(backing("base.qcow2", null)).find(
      (x) => x.code === "QCOW2-BACKING-FILE",
    ) as Qcow2Anomaly;
    expect(observe(a).note).toContain("base.qcow2");
    expect(observe(a).note).not.toContain("format ");
  });

  it("flags QCOW version 1 as low", () => {
    const a = audit(info({ version: 1 })).find((x) => x.code === "QCOW2-QCOW1") as Qcow2Anomaly;
    expect(observe(a).severity).toBe("low");
    expect(observe(a).note).toMatch(/version 1|QCOW1/);
    expect(observe(a).evidence.length).toBeGreaterThan(0);
  });

  it("does not flag versions 2 and 3 as QCOW1", () => {
    for (const version of [2, 3] as const)
      expect(codes(audit(info({ version })))).not.toContain("QCOW2-QCOW1");
  });

  it("names the encryption method", () => {
    const a = audit(info({ encryptionMethod: 2, encryption: "luks" }))[0] as Qcow2Anomaly;
    expect(joined(a)).toContain("crypt_method=2");
    expect(joined(a)).toContain("encryption_method=LUKS");
  });
});

describe("auditSnapshots", () => {
  it("emits one finding per snapshot", () => {
    const out = auditSnapshots([snap("alpha", 1_700_000_000), snap("beta", 1_700_000_050)]);
    expect(out).toHaveLength(2);
    expect(codes(out).every((c) => c === "QCOW2-SNAPSHOT")).toBe(true);
  });

  it("yields nothing for no snapshots", () => {
    expect(auditSnapshots([])).toEqual([]);
  });

  it("carries the name and timestamp in note and evidence", () => {
    const a = auditSnapshots([snap("alpha", 1_700_000_000)])[0] as Qcow2Anomaly;
    const o = observe(a);
    expect(["low", "info"]).toContain(o.severity);
    expect(o.note).toContain("alpha");
    expect(joined(a)).toContain("alpha");
    expect(joined(a)).toContain("1700000000");
  });

  it("round-trips to a finding located in the snapshot table", () => {
    const f = toFinding(
      observe(auditSnapshots([snap("alpha", 1_700_000_000)])[0] as Qcow2Anomaly),
      ANALYZER_SOURCE,
    );
    expect(f.code).toBe("QCOW2-SNAPSHOT");
    expect(f.evidence[0]?.location).toMatchObject({
      kind: "host",
      offset: 0x30000,
      structure: "QCOW2 snapshot table",
    });
  });
});

describe("auditOrphans", () => {
  it("yields no finding without orphans", () => {
    expect(auditOrphans(report(100, 0))).toBeNull();
  });

  it("yields a medium finding carrying the count", () => {
    const a = auditOrphans(report(100, 7), 65536) as Qcow2Anomaly;
    const o = observe(a);
    expect(o.code).toBe("QCOW2-ORPHAN-CLUSTERS");
    expect(o.severity).toBe("medium");
    expect(o.note).toContain("7");
    expect(joined(a)).toContain("orphan_clusters=7");
  });

  it("cites each orphan's host offset", () => {
    const f = toFinding(
      observe(auditOrphans(report(10, 3), 65536) as Qcow2Anomaly),
      ANALYZER_SOURCE,
    );
    expect(f.severity).toBe("medium");
    const hosts = f.evidence.flatMap((e) =>
      e.location?.kind === "host" ? [e.location.offset] : [],
    );
    expect(hosts).toEqual([5 * 65536, 6 * 65536, 7 * 65536]);
  });
});
