import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { qemuOrSkipReason } from "../../../fixtures/harness/index.js";
import { runMain } from "./in-process.js";

// Issue 12 against qemu-img itself: snapshot tables cut by end of file or
// declaring more entries than they hold, header offsets misaligned or past
// end of file (at full 64-bit width), and reports that stay bounded. Every
// image is written here by qemu-img / qemu-io, then one field is poked.
const skip = qemuOrSkipReason();
const dir = mkdtempSync(join(tmpdir(), "qcow2-hardening-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function qemu(tool: string, args: string[]): Run {
  const r = spawnSync(tool, args, { encoding: "utf8", timeout: 60_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** A fresh image: `qemu-img create`, then each qemu-io command, then each snapshot. */
function make(
  name: string,
  options: { compat?: string; writes?: string[]; snapshots?: number; size?: string } = {},
): string {
  const file = join(dir, name);
  const o = `compat=${options.compat ?? "1.1"}`;
  execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", "-o", o, file, options.size ?? "64M"]);
  for (const w of options.writes ?? ["write -P 0xab 0 128k", "write -P 0xcd 1M 64k"])
    execFileSync("qemu-io", ["-f", "qcow2", "-c", w, file], { stdio: "ignore" });
  for (let i = 1; i <= (options.snapshots ?? 0); i++)
    execFileSync("qemu-img", ["snapshot", "-c", `s${i}`, file]);
  return file;
}

function poke(file: string, offset: number, width: 4 | 8, value: bigint): void {
  const bytes = readFileSync(file);
  if (width === 4) bytes.writeUInt32BE(Number(value), offset);
  else bytes.writeBigUInt64BE(value, offset);
  writeFileSync(file, bytes);
}

const header64 = (file: string, offset: number) => readFileSync(file).readBigUInt64BE(offset);
const withoutName = (json: string) => {
  const o = JSON.parse(json) as Record<string, unknown>;
  delete o.filename;
  return o;
};
const errorLines = (text: string) =>
  text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => /^ERROR/.test(l))
    .sort();
const ourErrorLines = (text: string) =>
  text
    .split("\n")
    .map((l) =>
      l
        .trim()
        .replace(/^corruption\s+/, "")
        .replace(/\s+@ host .*$/, ""),
    )
    .filter((l) => /^ERROR/.test(l))
    .sort();

/** qemu-img and the CLI agree on a snapshot table: listing, check (counts, messages, exit code). */
async function expectQemuSnapshotView(file: string): Promise<void> {
  const qInfo = qemu("qemu-img", ["info", "--output=json", file]);
  const ours = await runMain(["snapshots", "--json", file]);
  if (qInfo.code === 0) {
    expect(ours.code).toBe(0);
    const listed = (JSON.parse(qInfo.stdout) as { snapshots?: unknown[] }).snapshots ?? [];
    expect(JSON.parse(ours.stdout)).toEqual(listed);
    const info = await runMain(["info", "--json", file]);
    expect((JSON.parse(info.stdout) as { snapshots?: unknown[] }).snapshots ?? []).toEqual(listed);
  }
  const qCheck = qemu("qemu-img", ["check", "--output=json", file]);
  const check = await runMain(["check", "--json", file]);
  expect(check.code, check.stderr).toBe(qCheck.code);
  if (qCheck.stdout.trim() !== "")
    expect(withoutName(check.stdout)).toEqual(withoutName(qCheck.stdout));
  const text = await runMain(["check", file]);
  expect(ourErrorLines(text.stdout + text.stderr)).toEqual(
    errorLines(qemu("qemu-img", ["check", file]).stderr),
  );
}

function sha256(file: string): string {
  return execFileSync("sha256sum", [file], { encoding: "utf8" }).slice(0, 64);
}

/** Our snapshot view hashes as `qemu-img convert -l` exports it. */
async function expectSnapshotHash(file: string, selector: string): Promise<void> {
  const raw = join(dir, "view.raw");
  rmSync(raw, { force: true });
  const q = qemu("qemu-img", [
    "convert",
    "-l",
    `snapshot.name=${selector}`,
    "-O",
    "raw",
    file,
    raw,
  ]);
  const ours = await runMain(["hash", "--quiet", "--json", "--snapshot", selector, file]);
  if (q.code !== 0) {
    expect(ours.code).not.toBe(0);
    return;
  }
  expect(ours.code, ours.stderr).toBe(0);
  expect(JSON.parse(ours.stdout).guest.sha256).toBe(sha256(raw));
}

const SNAPSHOTS_OFFSET = 64;
const NB_SNAPSHOTS = 60;

describe.skipIf(skip !== undefined)("snapshot tables as qemu-img reads them", () => {
  it("nb_snapshots beyond the entries written (v3): QEMU lists zero-filled entries, check counts each as incomplete", async () => {
    const file = make("more-entries.qcow2", { snapshots: 1 });
    poke(file, NB_SNAPSHOTS, 4, 5n);
    await expectQemuSnapshotView(file);
    await expectSnapshotHash(file, "s1");
    await expectSnapshotHash(file, "");
  });

  it("the same in a version 2 image: zero-filled entries, and no incomplete entry (v2 needs no extra data)", async () => {
    const file = make("more-entries-v2.qcow2", { compat: "0.10", snapshots: 1 });
    poke(file, NB_SNAPSHOTS, 4, 4n);
    await expectQemuSnapshotView(file);
  });

  it("a snapshot table wholly past end of file", async () => {
    const file = make("table-past-eof.qcow2", { snapshots: 2 });
    const past = BigInt(Math.ceil(statSync(file).size / 65536) * 65536 + 16 * 65536);
    poke(file, SNAPSHOTS_OFFSET, 8, past);
    await expectQemuSnapshotView(file);
  });

  it("a file cut inside the snapshot table, entry by entry", async () => {
    const base = make("cut.qcow2", { snapshots: 3 });
    const table = Number(header64(base, SNAPSHOTS_OFFSET));
    for (const cut of [20, 40, 64, 90, 130, 150]) {
      const file = join(dir, `cut-${cut}.qcow2`);
      writeFileSync(file, readFileSync(base));
      truncateSync(file, table + cut);
      await expectQemuSnapshotView(file);
      await expectSnapshotHash(file, "s1");
    }
  });

  it("too much extra metadata: QEMU refuses the table, and so does check (exit 1)", async () => {
    const file = make("extra.qcow2", { snapshots: 1 });
    const table = Number(header64(file, SNAPSHOTS_OFFSET));
    poke(file, table + 36, 4, 2000n);
    expect(qemu("qemu-img", ["info", file]).stderr).toContain("Too much extra metadata");
    await expectQemuSnapshotView(file);
    const audit = await runMain(["audit", "--format", "json", file]);
    const codes = JSON.parse(audit.stdout).images[0].findings.map((f: { code: string }) => f.code);
    expect(codes).toContain("QCOW2-HEADER-INCONSISTENT");
  });
});

describe.skipIf(skip !== undefined)("bounded reports", () => {
  it("nb_snapshots 0xFFFFFFFF: QEMU refuses it; the audit stays short and reports no phantom snapshot", async () => {
    const file = make("huge-count.qcow2", { snapshots: 1 });
    poke(file, NB_SNAPSHOTS, 4, 0xffffffffn);
    expect(qemu("qemu-img", ["info", file]).stderr).toContain("Snapshot table too large");
    const check = await runMain(["check", file]);
    expect(check.code).toBe(qemu("qemu-img", ["check", file]).code);
    const json = await runMain([
      "audit",
      "--format",
      "json",
      "--now",
      "2030-01-01T00:00:00Z",
      file,
    ]);
    const findings = JSON.parse(json.stdout).images[0].findings as Array<{ code: string }>;
    const count = (code: string) => findings.filter((f) => f.code === code).length;
    expect(count("QCOW2-SNAPSHOT")).toBe(1);
    expect(count("QCOW2-SNAPSHOT-TIME-ANOMALY")).toBe(0);
    expect(count("QCOW2-SNAPSHOT-TABLE-TRUNCATED")).toBe(1);
    expect(count("QCOW2-HEADER-INCONSISTENT")).toBe(1);
    expect(json.stdout.length).toBeLessThan(64 * 1024);
    const text = await runMain(["audit", file]);
    expect(text.stdout.split("\n").length).toBeLessThan(100);
  });

  it("120 real snapshots: 100 findings of one code by default (99 + one summary of 21), all with 0", async () => {
    const file = make("many.qcow2", { snapshots: 120, writes: ["write -P 0x11 0 64k"] });
    const listed = JSON.parse(qemu("qemu-img", ["info", "--output=json", file]).stdout).snapshots;
    expect(listed).toHaveLength(120);
    const json = await runMain(["audit", "--format", "json", file]);
    const snaps = (
      JSON.parse(json.stdout).images[0].findings as Array<{
        code: string;
        folded?: { count: number; total: number; first?: unknown; last?: unknown };
      }>
    ).filter((f) => f.code === "QCOW2-SNAPSHOT");
    expect(snaps).toHaveLength(100);
    const summary = snaps.find((f) => f.folded !== undefined);
    expect(summary?.folded).toMatchObject({ count: 21, total: 120 });
    expect(summary?.folded?.first).toBeDefined();
    expect(summary?.folded?.last).toBeDefined();
    const all = await runMain(["audit", "--format", "json", "--max-findings-per-code", "0", file]);
    const every = JSON.parse(all.stdout).images[0].findings.filter(
      (f: { code: string }) => f.code === "QCOW2-SNAPSHOT",
    );
    expect(every).toHaveLength(120);
    const ten = await runMain(["audit", "--format", "json", "--max-findings-per-code", "10", file]);
    expect(
      JSON.parse(ten.stdout).images[0].findings.filter(
        (f: { code: string }) => f.code === "QCOW2-SNAPSHOT",
      ),
    ).toHaveLength(10);
    const text = await runMain(["audit", "--max-findings-per-code", "0", file]);
    expect(text.stdout.split("\n").length).toBeLessThan(1000);
    const bad = await runMain(["audit", "--max-findings-per-code", "-1", file]);
    expect(bad.code).toBe(2);
  }, 120_000);
});

describe.skipIf(skip !== undefined)("header offsets, at full width, as QEMU sees them", () => {
  const audit = async (file: string) => {
    const r = await runMain(["audit", "--format", "json", file]);
    expect(r.stderr).not.toMatch(/internal error/);
    return JSON.parse(r.stdout).images[0] as {
      findings: Array<{
        code: string;
        note: string;
        evidence: Array<{ field: string; value: string }>;
      }>;
      error: unknown;
    };
  };
  const cases: Array<{
    field: string;
    at: number;
    value: bigint;
    expectCode: string;
    text: string;
  }> = [
    {
      field: "l1_table_offset",
      at: 40,
      value: 1n << 53n,
      expectCode: "QCOW2-OFFSET-BEYOND-EOF",
      text: "0x20000000000000 (9007199254740992)",
    },
    {
      field: "l1_table_offset",
      at: 40,
      value: (1n << 56n) - 65536n,
      expectCode: "QCOW2-OFFSET-BEYOND-EOF",
      text: "0xffffffffff0000 (72057594037862400)",
    },
    {
      field: "l1_table_offset",
      at: 40,
      value: 0x30001n,
      expectCode: "QCOW2-MISALIGNED-OFFSET",
      text: "0x30001",
    },
    {
      field: "refcount_table_offset",
      at: 48,
      value: 1n << 40n,
      expectCode: "QCOW2-OFFSET-BEYOND-EOF",
      text: "0x10000000000",
    },
    {
      field: "refcount_table_offset",
      at: 48,
      value: 0x10200n,
      expectCode: "QCOW2-MISALIGNED-OFFSET",
      text: "0x10200",
    },
    {
      field: "snapshots_offset",
      at: 64,
      value: 1n << 53n,
      expectCode: "QCOW2-OFFSET-BEYOND-EOF",
      text: "(9007199254740992)",
    },
    {
      field: "snapshots_offset",
      at: 64,
      value: 0x10001n,
      expectCode: "QCOW2-MISALIGNED-OFFSET",
      text: "0x10001",
    },
  ];
  for (const c of cases) {
    it(`${c.field} = 0x${c.value.toString(16)}: ${c.expectCode} names the field and its exact value; QEMU's refusal, if any, is HEADER-INCONSISTENT`, async () => {
      const file = make(`offset-${c.field}-${c.value}.qcow2`, { snapshots: 1 });
      poke(file, c.at, 8, c.value);
      const img = await audit(file);
      const finding = img.findings.find((f) => f.code === c.expectCode);
      expect(finding, JSON.stringify(img.findings.map((f) => f.code))).toBeDefined();
      expect(finding?.evidence.some((e) => e.field === c.field && e.value.includes(c.text))).toBe(
        true,
      );
      const refused = qemu("qemu-img", ["info", file]);
      const inconsistent = img.findings.find((f) => f.code === "QCOW2-HEADER-INCONSISTENT");
      if (refused.code !== 0) {
        const reason = refused.stderr.replace(/^.*Could not open '[^']*': /s, "").trim();
        expect(inconsistent?.note ?? "").toContain(reason);
      }
      const qCheck = qemu("qemu-img", ["check", file]);
      const check = await runMain(["check", file]);
      expect(check.code, check.stderr).toBe(qCheck.code);
      // Wherever qemu-img check prints the offset, it is the exact value we report.
      const hex = `0x${c.value.toString(16)}`;
      if (qCheck.stderr.includes(hex)) expect(check.stdout).toContain(hex);
    });
  }
});
