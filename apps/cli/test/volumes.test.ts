import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  blkidRaw,
  removeDir,
  run,
  sfdiskJson,
  tempDir,
  toolsOrSkipReason,
  toQcow2,
} from "../../../fixtures/harness/guest.js";
import { PASSPHRASE, stateDisks } from "../../../fixtures/harness/guest-disks.js";
import { runCli } from "./run-cli.js";

// `volumes`, the `info` summary line and the guest facts in `audit --format timeline`, on
// guest disks the reference tools build; partition facts graded by sfdisk, signatures by blkid.
const skip = toolsOrSkipReason([
  "qemu-img",
  "qemu-io",
  "sfdisk",
  "blkid",
  "mkfs.vfat",
  "mkfs.ext4",
  "mkswap",
  "cryptsetup",
]);

interface JsonPartition {
  start: number;
  length: number;
  type: string;
  name?: string;
  uuid?: string;
  filesystem: { type: string; uuid: string | null; label: string | null } | null;
}
interface JsonLayout {
  scheme: string;
  filesystem: unknown;
  partitions: JsonPartition[];
}

const latin = (b: Buffer | undefined) => (b === undefined ? null : b.toString("utf8"));

describe.skipIf(skip !== undefined)("qcow2-forensic volumes", () => {
  let dir = "";
  let a = "";
  let b = "";
  let img = "";
  beforeAll(() => {
    dir = tempDir("cli-volumes");
    ({ a, b } = stateDisks(dir));
    img = toQcow2(a, join(dir, "disk.qcow2"));
    run("qemu-img", ["snapshot", "-c", "before", img]);
    run("qemu-io", ["-f", "qcow2", "-c", `write -s ${b} 0 64M`, img]);
  }, 300_000);
  afterAll(() => removeDir(dir));

  /** The JSON against sfdisk's listing and blkid's tags of the raw disk of the same state. */
  function expectMatches(json: JsonLayout, raw: string): void {
    const table = sfdiskJson(raw);
    expect(json.scheme).toBe(table?.label === "dos" ? "mbr" : "gpt");
    expect(
      json.partitions.map((p) => ({
        start: p.start / 512,
        size: p.length / 512,
        type: p.type,
        ...(p.uuid === undefined ? {} : { uuid: p.uuid }),
        ...(p.name === undefined ? {} : { name: p.name }),
      })),
    ).toEqual(
      (table?.partitions ?? []).map((p) => ({
        start: p.start,
        size: p.size,
        type: p.type,
        ...(p.uuid === undefined ? {} : { uuid: p.uuid }),
        ...(p.name === undefined ? {} : { name: p.name }),
      })),
    );
    for (const p of json.partitions) {
      if (p.type === "5") continue;
      const tags = blkidRaw(raw, p.start, p.length);
      expect(p.filesystem === null ? null : { ...p.filesystem }).toEqual(
        Object.keys(tags).length === 0
          ? null
          : expect.objectContaining({
              type: latin(tags.TYPE),
              uuid: latin(tags.UUID),
              label: latin(tags.LABEL),
            }),
      );
    }
  }

  it("--json lists the active disk as sfdisk and blkid see its raw disk", () => {
    const r = runCli(["volumes", "--json", img]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expectMatches(JSON.parse(r.stdout) as JsonLayout, b);
  });

  it("--snapshot lists the disk as of the snapshot", () => {
    const r = runCli(["volumes", "--json", "--snapshot", "before", img]);
    expect(r.code).toBe(0);
    expectMatches(JSON.parse(r.stdout) as JsonLayout, a);
  });

  it("prints a table like mmls / lsblk -f", () => {
    const r = runCli(["volumes", img]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/MBR \(DOS\), id 0x[0-9a-f]{8}/);
    expect(r.stdout).toMatch(/^#\s+START\s+END\s+SIZE\s+TYPE\s+NAME\s+FSTYPE\s+LABEL\s+UUID$/m);
    expect(r.stdout).toMatch(/^2\s.*swsuspend/m);
    expect(r.stdout).toMatch(/^partition 2: hibernation image \(signature S1SUSPEND\)$/m);
  });

  it("--layer-only of an overlay sees only what the overlay wrote", () => {
    toQcow2(a, join(dir, "base.qcow2"));
    const overlay = join(dir, "overlay.qcow2");
    run("qemu-img", ["create", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", overlay]);
    const full = JSON.parse(runCli(["volumes", "--json", overlay]).stdout) as JsonLayout;
    expectMatches(full, a);
    const alone = JSON.parse(
      runCli(["volumes", "--json", "--layer-only", overlay]).stdout,
    ) as JsonLayout;
    expect(alone).toMatchObject({ scheme: "none", filesystem: null, partitions: [] });
  });

  it("reads an encrypted image with --passphrase-file, and says why without it", () => {
    const enc = join(dir, "enc.qcow2");
    for (let attempt = 0; ; attempt++) {
      try {
        run("qemu-img", [
          "convert",
          "--object",
          `secret,id=sec0,data=${PASSPHRASE}`,
          "-f",
          "raw",
          "-O",
          "qcow2",
          "-o",
          "encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=10",
          a,
          enc,
        ]);
        break;
      } catch (e) {
        if (!String(e).includes("Unable to get accurate CPU usage") || attempt > 40) throw e;
      }
    }
    const key = join(dir, "key.txt");
    writeFileSync(key, PASSPHRASE);
    const r = runCli(["volumes", "--json", "--passphrase-file", key, enc]);
    expect(r.code).toBe(0);
    expectMatches(JSON.parse(r.stdout) as JsonLayout, a);
    const locked = runCli(["volumes", enc]);
    expect(locked.code).toBe(3);
    expect(locked.stderr.trim().split("\n")).toHaveLength(1);
    expect(runCli(["info", enc]).stdout).toMatch(/^guest volumes:\s+not read \(/m);
  });

  it("info shows the active disk's volumes in one line", () => {
    const r = runCli(["info", img]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^guest volumes:\s+MBR \(DOS\), 3 partition\(s\) \(1: ext4 `newroot`, 2: swsuspend `hib`, 3: crypto_LUKS `secret`\)$/m,
    );
    const json = JSON.parse(runCli(["info", "--json", img]).stdout) as Record<string, unknown>;
    expect(JSON.stringify(json)).not.toContain("guest");
  });

  it("audit --format timeline and bodyfile carry the guest filesystems' times of every state", () => {
    const csv = runCli(["audit", "--format", "timeline", "--now", "2031-01-01T00:00:00Z", img]);
    expect(csv.code).toBe(0);
    // CSV quoting doubles the quotes of the snapshot's name.
    expect(csv.stdout).toContain(
      '"snapshot 1 ""before"": partition 2 (ext4 `root`)",filesystem created',
    );
    expect(csv.stdout).toMatch(
      /active disk: partition 1 \(ext4 `newroot`\),filesystem last written/,
    );
    expect(csv.stdout).toContain("internal snapshot created");
    const body = runCli(["audit", "--format", "bodyfile", img]);
    expect(body.stdout).toMatch(
      /^0\|.*active disk: partition 1 \(ext4 `newroot`\) \(filesystem created\)\|0\|0\|0\|0\|0\|\d+\|\d+\|\d+\|\d+$/m,
    );
  });

  it("codes lists the guest findings", () => {
    const r = runCli(["codes"]);
    for (const code of [
      "QCOW2-GUEST-ENCRYPTED-VOLUME",
      "QCOW2-GUEST-HIBERNATION",
      "QCOW2-GUEST-PARTITION-TABLE-CHANGED",
      "QCOW2-GUEST-BOOT-CODE-CHANGED",
      "QCOW2-GUEST-GPT-DAMAGED",
      "QCOW2-GUEST-UNPARTITIONED-DATA",
      "QCOW2-GUEST-FS-ERRORS",
    ])
      expect(r.stdout).toContain(code);
  });
});
