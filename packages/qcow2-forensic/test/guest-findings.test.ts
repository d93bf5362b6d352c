import { execFileSync } from "node:child_process";
import { join } from "node:path";
import type { Finding } from "@x/report";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  MiB,
  poke,
  removeDir,
  run,
  sfdisk,
  sparseFile,
  tempDir,
  toolsOrSkipReason,
  toQcow2,
} from "../../../fixtures/harness/guest.js";
import {
  BOOT_CODE_B,
  buildDisk,
  GPT,
  PASSPHRASE,
  stateDisks,
} from "../../../fixtures/harness/guest-disks.js";
import { type GuestTime, toFindings } from "../src/index.js";
import { type AuditPathOptions, auditPath } from "../src/node.js";

// Guest findings on disks the reference tools build (sfdisk, mkfs.*, cryptsetup, debugfs),
// turned into QCOW2 images and states by qemu-img and qemu-io. Each guest code fires where the
// disk has what it describes, and nowhere on a clean disk.
const skip = toolsOrSkipReason([
  "qemu-img",
  "qemu-io",
  "sfdisk",
  "mkfs.ext4",
  "mkfs.vfat",
  "mkswap",
  "cryptsetup",
  "debugfs",
]);
const NOW = new Date("2030-06-01T00:00:00Z");

const guestFindings = (fs: Finding[]) => fs.filter((f) => f.code.startsWith("QCOW2-GUEST-"));
const codes = (fs: Finding[]) =>
  guestFindings(fs)
    .map((f) => f.code)
    .sort();

async function audit(path: string, options: AuditPathOptions = {}): Promise<Finding[]> {
  return toFindings(await auditPath(path, { now: NOW, ...options }));
}

function qemuImgRetrying(args: string[]): void {
  for (let attempt = 0; ; attempt++) {
    try {
      execFileSync("qemu-img", args, { stdio: "pipe" });
      return;
    } catch (e) {
      const stderr = String((e as { stderr?: Buffer }).stderr ?? "");
      if (!stderr.includes("Unable to get accurate CPU usage") || attempt >= 40) throw e;
    }
  }
}

describe.skipIf(skip !== undefined)("guest findings", () => {
  let dir = "";
  let a = "";
  let b = "";
  beforeAll(() => {
    dir = tempDir("guest-findings");
    ({ a, b } = stateDisks(dir));
  }, 300_000);
  afterAll(() => removeDir(dir));

  it("a clean single-partition disk yields no guest finding (MBR and GPT)", async () => {
    for (const label of ["dos", "gpt"] as const) {
      const raw = buildDisk(join(dir, `clean-${label}.raw`), label, 32, [
        {
          size: 16,
          type: label === "dos" ? "83" : GPT.linux,
          expect: "ext4",
          fill: (f) => run("mkfs.ext4", ["-q", "-F", "-L", "root", f]),
        },
      ]);
      const findings = await audit(toQcow2(raw, join(dir, `clean-${label}.qcow2`)));
      expect({ label, findings }).toEqual({ label, findings: [] });
    }
  });

  it("a disk repartitioned since its snapshot: layout and boot code changed, a LUKS volume, a hibernation image", async () => {
    const img = toQcow2(a, join(dir, "states.qcow2"));
    run("qemu-img", ["snapshot", "-c", "before", img]);
    run("qemu-io", ["-f", "qcow2", "-c", `write -s ${b} 0 64M`, img]);
    const findings = await audit(img);
    expect(codes(findings)).toEqual([
      "QCOW2-GUEST-BOOT-CODE-CHANGED",
      "QCOW2-GUEST-ENCRYPTED-VOLUME",
      "QCOW2-GUEST-HIBERNATION",
      "QCOW2-GUEST-PARTITION-TABLE-CHANGED",
    ]);
    const changed = findings.find((f) => f.code === "QCOW2-GUEST-PARTITION-TABLE-CHANGED");
    expect(changed?.evidence.find((e) => e.field === "from_state")?.value).toBe(
      'snapshot 1 "before"',
    );
    expect(changed?.evidence.find((e) => e.field === "to_state")?.value).toBe("active disk");
    const boot = findings.find((f) => f.code === "QCOW2-GUEST-BOOT-CODE-CHANGED");
    expect(boot?.severity).toBe("high");
    expect(boot?.evidence.find((e) => e.field.startsWith("MBR boot code"))?.location).toEqual({
      kind: "guest",
      offset: 0,
      length: 440,
    });
    // The LUKS volume sits in partition 3 of the repartitioned disk, cited at its guest offset.
    const luks = findings.find((f) => f.code === "QCOW2-GUEST-ENCRYPTED-VOLUME");
    const part = luks?.evidence.find((e) => e.field === "partition");
    expect(part?.value).toBe("3");
    expect(part?.location).toMatchObject({ kind: "guest" });
    expect(luks?.evidence.find((e) => e.field === "states")?.value).toBe("active disk");
    expect(BOOT_CODE_B.length).toBeGreaterThan(0);
  });

  it("an overlay whose writes repartitioned its backing file's disk", async () => {
    toQcow2(a, join(dir, "base.qcow2"));
    const overlay = join(dir, "overlay.qcow2");
    run("qemu-img", ["create", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", overlay]);
    run("qemu-io", ["-f", "qcow2", "-c", `write -s ${b} 0 64M`, overlay]);
    const findings = await audit(overlay);
    const changed = findings.find((f) => f.code === "QCOW2-GUEST-PARTITION-TABLE-CHANGED");
    expect(changed?.evidence.find((e) => e.field === "from_state")?.value).toBe(
      'backing file "base.qcow2"',
    );
    expect(codes(findings)).toContain("QCOW2-GUEST-BOOT-CODE-CHANGED");
  });

  it("an overlay whose backing file is missing is audited without its guest", async () => {
    const overlay = join(dir, "orphan-overlay.qcow2");
    run("qemu-img", [
      "create",
      "-f",
      "qcow2",
      "-u",
      "-b",
      "missing.qcow2",
      "-F",
      "qcow2",
      overlay,
      "64M",
    ]);
    const findings = await audit(overlay);
    expect(findings.map((f) => f.code)).toContain("QCOW2-BACKING-MISSING");
    expect(guestFindings(findings)).toEqual([]);
  });

  it("a damaged primary GPT", async () => {
    const raw = buildDisk(join(dir, "gpt-damaged.raw"), "gpt", 32, [
      { size: 8, type: GPT.linux, expect: "ext4", fill: (f) => run("mkfs.ext4", ["-q", "-F", f]) },
    ]);
    poke(raw, 512 + 60, "\x01");
    const findings = await audit(toQcow2(raw, join(dir, "gpt-damaged.qcow2")));
    expect(codes(findings)).toEqual(["QCOW2-GUEST-GPT-DAMAGED"]);
    expect(findings[0]?.severity).toBe("high");
  });

  it("overlapping partitions", async () => {
    const raw = sparseFile(join(dir, "overlap.raw"), 32 * MiB);
    sfdisk(raw, "label: dos\nsize=8M, type=83\nsize=8M, type=83\n");
    const start = Buffer.alloc(4);
    start.writeUInt32LE(2048 + 8);
    poke(raw, 446 + 16 + 8, start);
    const findings = await audit(toQcow2(raw, join(dir, "overlap.qcow2")));
    expect(codes(findings)).toEqual(["QCOW2-GUEST-PARTITION-TABLE-INCONSISTENT"]);
  });

  it("data in the gap before the first partition", async () => {
    const raw = buildDisk(join(dir, "gap.raw"), "dos", 32, [
      { size: 8, type: "83", expect: "ext4", fill: (f) => run("mkfs.ext4", ["-q", "-F", f]) },
    ]);
    poke(raw, 600 * 1024, "hidden in the gap");
    const findings = await audit(toQcow2(raw, join(dir, "gap.qcow2")));
    expect(codes(findings)).toEqual(["QCOW2-GUEST-UNPARTITIONED-DATA"]);
    const f = findings[0] as Finding;
    expect(f.evidence.find((e) => e.field === "first_non_zero")?.location).toEqual({
      kind: "guest",
      offset: 600 * 1024,
    });
    expect(f.evidence.find((e) => e.field === "non_zero_bytes")?.value).toBe(
      String("hidden in the gap".length),
    );
  });

  it("a filesystem left mounted (not clean), and times in the future and after its snapshot", async () => {
    const raw = buildDisk(join(dir, "times.raw"), "gpt", 32, [
      {
        size: 16,
        type: GPT.linux,
        expect: "ext4",
        fill: (f) => {
          run("mkfs.ext4", ["-q", "-F", "-L", "data", f]);
          run("debugfs", ["-w", "-R", "ssv state 0", f]);
          run("debugfs", ["-w", "-R", "ssv mtime 20290102030405", f]);
          run("debugfs", ["-w", "-R", "ssv mkfs_time 20400101000000", f]);
        },
      },
    ]);
    const img = toQcow2(raw, join(dir, "times.qcow2"));
    run("qemu-img", ["snapshot", "-c", "then", img]);
    const times: GuestTime[] = [];
    const findings = await audit(img, { onGuestTimes: (t) => times.push(...t) });
    expect(codes(findings)).toEqual([
      "QCOW2-GUEST-FS-ERRORS",
      "QCOW2-GUEST-FS-TIME-ANOMALY",
      "QCOW2-GUEST-FS-TIME-ANOMALY",
    ]);
    const reasons = findings
      .filter((f) => f.code === "QCOW2-GUEST-FS-TIME-ANOMALY")
      .map((f) => f.evidence.find((e) => e.field === "reason")?.value)
      .sort();
    // Created in 2040 (after the audit clock, in both states); last mounted in 2029 (before the
    // clock, but after the snapshot was taken: only in the snapshot).
    expect(reasons).toEqual(["after-snapshot", "future"]);
    expect(findings.find((f) => f.code === "QCOW2-GUEST-FS-ERRORS")?.severity).toBe("low");
    expect(times.map((t) => [t.state, t.event]).sort()).toEqual([
      ["active disk", "filesystem created"],
      ["active disk", "filesystem last mounted"],
      ["active disk", "filesystem last written"],
      ['snapshot 1 "then"', "filesystem created"],
      ['snapshot 1 "then"', "filesystem last mounted"],
      ['snapshot 1 "then"', "filesystem last written"],
    ]);
  });

  it("an encrypted image: the guest is read with the passphrase, and skipped quietly without it", async () => {
    const enc = join(dir, "enc.qcow2");
    qemuImgRetrying([
      "convert",
      "--object",
      `secret,id=sec0,data=${PASSPHRASE}`,
      "-f",
      "raw",
      "-O",
      "qcow2",
      "-o",
      "encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=10",
      b,
      enc,
    ]);
    const pass = new TextEncoder().encode(PASSPHRASE);
    const wrong = new TextEncoder().encode("not it");
    const withKey = await audit(enc, { passphrases: [wrong, pass] });
    expect(codes(withKey)).toEqual(["QCOW2-GUEST-ENCRYPTED-VOLUME", "QCOW2-GUEST-HIBERNATION"]);
    expect(guestFindings(await audit(enc))).toEqual([]);
    expect(guestFindings(await audit(enc, { passphrases: [wrong] }))).toEqual([]);
  });

  it("--quick reads nothing inside the guest", async () => {
    const img = toQcow2(b, join(dir, "quick.qcow2"));
    expect(codes(await audit(img))).toContain("QCOW2-GUEST-HIBERNATION");
    expect(guestFindings(await audit(img, { quick: true }))).toEqual([]);
  });
});
