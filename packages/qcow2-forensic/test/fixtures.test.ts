import { describe, expect, it } from "vitest";
import { expectedCodes, loadFixtureSet, qcowEntries } from "../../../fixtures/harness/index.js";
import { toFindings } from "../src/index.js";
import { auditPath } from "../src/node.js";

const set = loadFixtureSet();
/** The audit clock: fixed, so snapshot-date findings do not depend on when the suite runs. */
const NOW = new Date("2030-01-01T00:00:00Z");

describe("auditPath on every committed fixture", () => {
  for (const entry of qcowEntries(set)) {
    it(`${entry.name}: reports exactly the findings QEMU's answers and the manifest imply`, async () => {
      const findings = toFindings(await auditPath(set.path(entry), { now: NOW }));
      const counts = new Map<string, number>();
      for (const f of findings) counts.set(f.code, (counts.get(f.code) ?? 0) + 1);
      expect(Object.fromEntries(counts)).toEqual(
        Object.fromEntries(expectedCodes(set, entry, NOW)),
      );
      for (const f of findings) expect(f.evidence.length).toBeGreaterThan(0);
    });
  }

  it("the snapshot fixture yields one QCOW2-SNAPSHOT per snapshot, named as qemu-img names them", async () => {
    const entry = set.entries.find((e) => e.name === "snapshots");
    if (!entry) throw new Error("snapshots fixture missing");
    const names = (
      set.answerJson<{ snapshots: { name: string }[] }>(entry.name, "info.json")?.snapshots ?? []
    ).map((s) => s.name);
    const findings = toFindings(await auditPath(set.path(entry))).filter(
      (f) => f.code === "QCOW2-SNAPSHOT",
    );
    expect(
      findings.map((f) => f.evidence.find((e) => e.field === "snapshot_name")?.value).sort(),
    ).toEqual(names.sort());
  });

  it("the orphan fixture cites the poked cluster's host offset", async () => {
    const entry = set.entries.find((e) => e.name === "orphan");
    if (!entry) throw new Error("orphan fixture missing");
    const finding = toFindings(await auditPath(set.path(entry))).find(
      (f) => f.code === "QCOW2-ORPHAN-CLUSTERS",
    );
    const hosts = finding?.evidence.flatMap((e) =>
      e.location?.kind === "host" ? [e.location.offset] : [],
    );
    expect(hosts).toEqual([entry.expect.orphanHostOffset]);
  });
});

describe("auditPath on malformed input", () => {
  for (const entry of set.entries.filter((e) => e.kind === "non-qcow2")) {
    it(`${entry.name}: is a typed error, not an empty result`, async () => {
      await expect(auditPath(set.path(entry))).rejects.toMatchObject({
        name: "Qcow2Error",
        code: expect.stringMatching(/^(BAD_MAGIC|FILE_TOO_SMALL|UNSUPPORTED_VERSION)$/),
      });
    });
  }

  it("a missing file is a typed IO error", async () => {
    await expect(auditPath("/nonexistent/disk.qcow2")).rejects.toMatchObject({ code: "IO" });
  });
});

describe("every finding code has a fixture", () => {
  it("each code the auditor knows fires on at least one committed fixture, and clean images fire none", async () => {
    const { KINDS } = await import("../src/index.js");
    const fired = new Set<string>();
    for (const entry of qcowEntries(set)) {
      for (const code of expectedCodes(set, entry, NOW).keys()) fired.add(code);
    }
    // Guest codes need guest disks (tables, filesystems): guest-findings.test.ts proves each one on
    // disks the reference tools build.
    expect(
      [...Object.keys(KINDS)].filter((c) => !fired.has(c) && !c.startsWith("QCOW2-GUEST-")),
    ).toEqual([]);
    for (const name of ["clean-v3", "clean-v2", "cluster-512", "cluster-2m"]) {
      const entry = set.entries.find((e) => e.name === name);
      expect(toFindings(await auditPath(set.path(entry as never), { now: NOW })), name).toEqual([]);
    }
  });
});
