import { readFileSync } from "node:fs";
import {
  check,
  inspect,
  isQcow2Error,
  memorySource,
  Qcow2Image,
  readSnapshots,
  toQemuCheckJson,
} from "@x/qcow2-core";
import { describe, expect, it } from "vitest";
import { loadFixtureSet } from "../../../fixtures/harness/index.js";
import { auditImage, type Qcow2Anomaly } from "../src/index.js";

// Crafted inputs in the spirit of QEMU's iotests 060 ("corrupted images") and
// 080 ("qcow2 format input validation"): a real qemu-img image with one field
// poked, then every tool run on it. Each outcome is asserted: a typed error
// (with its code) or findings that cite the offending offset.

const set = loadFixtureSet();
const bytesOf = (name: string) => {
  const e = set.entries.find((x) => x.name === name);
  if (!e) throw new Error(`no fixture ${name}`);
  return new Uint8Array(readFileSync(set.path(e)));
};
const NOW = new Date("2030-01-01T00:00:00Z");

type Outcome = { ok: true; value: unknown } | { ok: false; code: string };
async function attempt(f: () => Promise<unknown>): Promise<Outcome> {
  try {
    return { ok: true, value: await f() };
  } catch (e) {
    if (!isQcow2Error(e)) throw e;
    return { ok: false, code: e.code };
  }
}

/** Runs info, audit, check, map and export on `bytes`. */
async function runAll(bytes: Uint8Array) {
  const src = () => memorySource(bytes, "crafted.qcow2");
  return {
    info: await attempt(() => inspect(src())),
    audit: await attempt(() => auditImage(src(), { now: NOW })),
    check: await attempt(() => check(src())),
    map: await attempt(async () => (await Qcow2Image.open(src())).map()),
    export: await attempt(async () => {
      const image = await Qcow2Image.open(src());
      for await (const _ of image.stream({ chunkSize: 4 * 1024 * 1024 })) {
        // drain
      }
    }),
  };
}

const codes = (o: Outcome) => (o.ok ? (o.value as Qcow2Anomaly[]).map((a) => a.code) : []);
const poke = (bytes: Uint8Array, at: number, width: 4 | 8, value: number | bigint) => {
  const v = new DataView(bytes.buffer);
  if (width === 4) v.setUint32(at, Number(value));
  else v.setBigUint64(at, BigInt(value));
  return bytes;
};
const errorCode = (o: Outcome) => (o.ok ? "ok" : o.code);

describe("crafted header fields (iotests 080 style)", () => {
  it("huge header_length: info reports it, audit flags the header, the rest refuse as QEMU does", async () => {
    const r = await runAll(poke(bytesOf("clean-v3"), 100, 4, 0xfffffff0));
    expect(r.info.ok && (r.info.value as { problems: unknown[] }).problems.length).toBeGreaterThan(
      0,
    );
    expect(codes(r.audit)).toContain("QCOW2-HEADER-INCONSISTENT");
    expect([errorCode(r.check), errorCode(r.map), errorCode(r.export)]).toEqual([
      "INVALID_STRUCTURE",
      "INVALID_STRUCTURE",
      "INVALID_STRUCTURE",
    ]);
  });

  it("a huge unknown header extension: reported by type and offset, and the image refused for reading", async () => {
    const bytes = bytesOf("unknown-extension");
    const info = await inspect(memorySource(bytes));
    const ext = info.extensions.find((e) => e.name === "unknown");
    poke(bytes, (ext?.offset ?? 0) + 4, 4, 0x7fffffff);
    const r = await runAll(bytes);
    expect(codes(r.audit)).toEqual(
      expect.arrayContaining(["QCOW2-UNKNOWN-HEADER-EXTENSION", "QCOW2-HEADER-INCONSISTENT"]),
    );
    expect([errorCode(r.check), errorCode(r.map), errorCode(r.export)]).toEqual([
      "INVALID_STRUCTURE",
      "INVALID_STRUCTURE",
      "INVALID_STRUCTURE",
    ]);
  });

  it("a huge refcount table: check and the reader refuse it, as qemu-img does (Reference count table too large)", async () => {
    const r = await runAll(poke(bytesOf("clean-v3"), 56, 4, 0xffffff));
    expect(errorCode(r.check)).toBe("LIMIT_EXCEEDED");
    expect(codes(r.audit)).toContain("QCOW2-HEADER-INCONSISTENT");
    expect(errorCode(r.export)).toBe("LIMIT_EXCEEDED");
  });

  it("a misaligned refcount table offset: check refuses with QEMU's reason", async () => {
    const r = await runAll(poke(bytesOf("clean-v3"), 48, 8, 0x10200));
    expect(errorCode(r.check)).toBe("INVALID_STRUCTURE");
    expect(codes(r.audit)).toContain("QCOW2-HEADER-INCONSISTENT");
  });

  it("a refcount table past end of file reads as zeros: every cluster in use becomes a corruption", async () => {
    const r = await runAll(poke(bytesOf("clean-v3"), 48, 8, 1n << 40n));
    expect(r.check.ok).toBe(true);
    const json = toQemuCheckJson(
      (r.check as { value: Parameters<typeof toQemuCheckJson>[0] }).value,
      "x",
    );
    expect(json.corruptions).toBeGreaterThan(0);
    expect(codes(r.audit)).toEqual(
      expect.arrayContaining(["QCOW2-ORPHAN-CLUSTERS", "QCOW2-OFFSET-BEYOND-EOF"]),
    );
  });

  it("a snapshot count beyond QEMU's limit: the table is bounded and reported truncated", async () => {
    const bytes = poke(bytesOf("snapshots"), 60, 4, 0xffffffff);
    const table = await readSnapshots(memorySource(bytes));
    expect(table.truncated).toBe(true);
    const r = await runAll(bytes);
    expect(errorCode(r.check)).toBe("LIMIT_EXCEEDED");
    expect(codes(r.audit)).toContain("QCOW2-SNAPSHOT-TABLE-TRUNCATED");
  });

  it("a misaligned snapshot table offset: check refuses, audit flags it", async () => {
    const r = await runAll(poke(bytesOf("snapshots"), 64, 8, 0xe008));
    expect(errorCode(r.check)).toBe("INVALID_STRUCTURE");
    expect(codes(r.audit)).toContain("QCOW2-HEADER-INCONSISTENT");
  });

  it("an L1 table larger than QEMU allows: L1_TOO_LARGE everywhere it is needed", async () => {
    const r = await runAll(poke(bytesOf("clean-v3"), 36, 4, 0x10000000));
    expect([errorCode(r.check), errorCode(r.map), errorCode(r.export)]).toEqual([
      "L1_TOO_LARGE",
      "L1_TOO_LARGE",
      "L1_TOO_LARGE",
    ]);
  });

  it("a misaligned L1 table offset: typed INVALID_STRUCTURE", async () => {
    const r = await runAll(poke(bytesOf("clean-v3"), 40, 8, 0x30200));
    expect([errorCode(r.check), errorCode(r.map), errorCode(r.export)]).toEqual([
      "INVALID_STRUCTURE",
      "INVALID_STRUCTURE",
      "INVALID_STRUCTURE",
    ]);
  });

  it("an L1 table past end of file reads as zeros (QEMU does too): an empty disk, and check says where", async () => {
    const r = await runAll(poke(bytesOf("clean-v3"), 40, 8, 1n << 36n));
    expect(errorCode(r.export)).toBe("ok");
    expect(codes(r.audit)).toEqual(
      expect.arrayContaining(["QCOW2-OFFSET-BEYOND-EOF", "QCOW2-LEAKED-CLUSTERS"]),
    );
  });

  it("a backing file name longer than QEMU accepts: reported, refused for reading", async () => {
    const r = await runAll(poke(bytesOf("overlay"), 16, 4, 5000));
    expect(codes(r.audit)).toEqual(
      expect.arrayContaining(["QCOW2-BACKING-FILE", "QCOW2-HEADER-INCONSISTENT"]),
    );
    expect(errorCode(r.export)).toBe("INVALID_STRUCTURE");
  });
});

describe("crafted tables (iotests 060 style)", () => {
  it("an L2 entry pointing far past end of file: zeros for the guest, OFFSET-BEYOND-EOF with the entry's target", async () => {
    const r = await runAll(bytesOf("offset-beyond-eof"));
    expect(errorCode(r.export)).toBe("ok");
    const finding = (r.audit as { value: Qcow2Anomaly[] }).value.find(
      (a) => a.code === "QCOW2-OFFSET-BEYOND-EOF",
    );
    expect(finding?.code === "QCOW2-OFFSET-BEYOND-EOF" && finding.entries[0]?.hostOffset).toBe(
      set.entries.find((e) => e.name === "offset-beyond-eof")?.expect.beyondHostOffset,
    );
  });

  it("a misaligned L2 entry: reading it is a typed error, check and audit cite the entry", async () => {
    const r = await runAll(bytesOf("misaligned-offset"));
    expect(errorCode(r.export)).toBe("INVALID_STRUCTURE");
    const finding = (r.audit as { value: Qcow2Anomaly[] }).value.find(
      (a) => a.code === "QCOW2-MISALIGNED-OFFSET",
    );
    expect(finding?.code === "QCOW2-MISALIGNED-OFFSET" && finding.entries[0]?.hostOffset).toBe(
      set.entries.find((e) => e.name === "misaligned-offset")?.expect.l2EntryOffset,
    );
  });

  it("a misaligned snapshot L1 offset: check counts QEMU's corruption, reading that snapshot is refused", async () => {
    const bytes = bytesOf("snapshots");
    const table = await readSnapshots(memorySource(bytes));
    const entry = table.snapshots[0]?.offset ?? 0;
    poke(bytes, entry, 8, BigInt(table.snapshots[0]?.l1TableOffset ?? 0) + 0x200n);
    const report = await check(memorySource(bytes));
    expect(report.problems.some((p) => /L1 table is not cluster aligned/.test(p.message))).toBe(
      true,
    );
    await expect(
      Qcow2Image.open(memorySource(bytes), { snapshot: table.snapshots[0]?.name as string }),
    ).rejects.toMatchObject({ code: "INVALID_STRUCTURE" });
  });

  it("metadata overlapping (the L1 table placed on the refcount table): METADATA-OVERLAP", async () => {
    const bytes = bytesOf("clean-v3");
    const info = await inspect(memorySource(bytes));
    poke(bytes, 40, 8, info.refcountTableOffset);
    const r = await runAll(bytes);
    expect(codes(r.audit)).toContain("QCOW2-METADATA-OVERLAP");
  });

  it("a data cluster's refcount poked to zero: ORPHAN-CLUSTERS citing it", async () => {
    const r = await runAll(bytesOf("orphan"));
    const finding = (r.audit as { value: Qcow2Anomaly[] }).value.find(
      (a) => a.code === "QCOW2-ORPHAN-CLUSTERS",
    );
    expect(
      finding?.code === "QCOW2-ORPHAN-CLUSTERS" && finding.orphans.map((o) => o.hostOffset),
    ).toEqual([set.entries.find((e) => e.name === "orphan")?.expect.orphanHostOffset]);
  });

  for (const cut of [40, 72, 103, 200, 4096, 20000, 65536]) {
    it(`a file truncated at ${cut} bytes ends in a typed error or findings, never a crash`, async () => {
      const bytes = bytesOf("snapshots").slice(0, cut);
      const r = await runAll(bytes);
      for (const o of Object.values(r)) expect(typeof errorCode(o)).toBe("string");
      if (cut < 72) expect(errorCode(r.info)).toBe("FILE_TOO_SMALL");
    });
  }
});
