import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  statSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FIXTURES_DIR, loadFixtureSet, qemuOrSkipReason } from "../../../fixtures/harness/index.js";
import {
  attachLoop,
  detachLoop,
  loopDevicesOrSkipReason,
} from "../../../fixtures/harness/loop-devices.js";
import { type MainResult, runMain } from "./in-process.js";
import { explain, runCliAsync } from "./run-cli.js";

/**
 * Evidence on block devices: fixture copies attached as read-only loop
 * devices, reached through a folder of links as LVM names its volumes
 * (/dev/<vg>/<lv> → /dev/dm-N). Every command must give on the device what it
 * gives on the file. A bare /dev/loopN has its relative backing names looked
 * for in /dev, as qemu-img does; --backing-dir is the examiner's way round.
 * Skipped, with the reason printed, where loop devices cannot be attached.
 */
const skip = loopDevicesOrSkipReason();
const set = loadFixtureSet();
const NOW = "2027-01-01T00:00:00Z";
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

/** Files copied from the fixtures; the chains keep their recorded relative backing names. */
const FILES = [
  "clean-v3.qcow2",
  "snapshots.qcow2",
  "luks.qcow2",
  "overlay.qcow2",
  "base.qcow2",
  "chain-top.qcow2",
  "chain-mid.qcow2",
  "chain-base.raw",
  "bitmaps.qcow2",
];
/** The images examined (the others are backing files of these). */
const IMAGES = [
  "clean-v3.qcow2",
  "snapshots.qcow2",
  "luks.qcow2",
  "overlay.qcow2",
  "chain-top.qcow2",
  "bitmaps.qcow2",
];

const attached: string[] = [];

describe.skipIf(skip !== undefined)("evidence on read-only loop devices", () => {
  const dir = mkdtempSync(join(tmpdir(), "qcow2-blockdev-"));
  const files = join(dir, "files");
  const devs = join(dir, "devs");
  const passphrase = join(dir, "luks.passphrase");
  /** Each file's loop device. */
  const deviceOf = new Map<string, string>();
  const before = new Map<string, string>();

  /** Device output as it would read had the files been given: loop devices and the links' folder → the files. */
  const asFiles = (text: string) =>
    text
      .replace(/\/dev\/loop\d+(?!\d)/g, (device) => {
        const file = [...deviceOf].find(([, d]) => d === device)?.[0];
        return file === undefined ? device : join(files, file);
      })
      .split(devs)
      .join(files);

  const extra = (name: string) =>
    name.startsWith("luks") ? ["--passphrase-file", passphrase] : [];

  /**
   * Runs `args` on the file and on the device (through its link), in this
   * process: the CLI's own `main`, as the binary runs it, without a Node
   * start-up per command.
   */
  const onBoth = async (args: (path: string) => string[]): Promise<[MainResult, MainResult]> => [
    await runMain(args(files)),
    await runMain(args(devs)),
  ];
  const explainRun = (r: MainResult) =>
    `qcow2-forensic ${r.args.join(" ")}\n  exit ${r.code}\n  stderr: ${r.stderr.trim() || "(empty)"}`;

  beforeAll(() => {
    mkdirSync(files);
    mkdirSync(devs);
    for (const name of FILES) {
      copyFileSync(join(FIXTURES_DIR, "images", name), join(files, name));
      // A loop device ends at the file's last whole 512-byte sector (losetup warns and drops
      // the rest): the copy is padded with zeros, as `truncate -s %512` would, so file and
      // device hold the same bytes.
      const size = statSync(join(files, name)).size;
      if (size % 512 !== 0) truncateSync(join(files, name), size + 512 - (size % 512));
      const device = attachLoop(join(files, name));
      attached.push(device);
      deviceOf.set(name, device);
      symlinkSync(device, join(devs, name));
      before.set(name, sha256(readFileSync(join(files, name))));
    }
    copyFileSync(join(FIXTURES_DIR, "images", "luks.passphrase"), passphrase);
  });

  afterAll(() => {
    const failures = attached
      .splice(0)
      .map(detachLoop)
      .filter((f) => f !== null);
    if (failures.length > 0) console.warn(failures.join("\n"));
  });

  for (const name of IMAGES) {
    describe(name, () => {
      it("info --json equals the file's (but actual-size, 0 for a device as in qemu-img)", async () => {
        const [file, device] = await onBoth((d) => ["info", "--json", join(d, name)]);
        expect(file.code, explainRun(file)).toBe(0);
        expect(device.code, explainRun(device)).toBe(0);
        const fromFile = JSON.parse(file.stdout);
        const fromDevice = JSON.parse(asFiles(device.stdout));
        expect(fromDevice["actual-size"]).toBe(0);
        fromDevice["actual-size"] = fromFile["actual-size"];
        expect(fromDevice).toEqual(fromFile);
      });

      it("info --json equals qemu-img info on the device, key for key", async (ctx) => {
        if (qemuOrSkipReason() !== undefined) return ctx.skip();
        const r = await runMain(["info", "--json", join(devs, name)]);
        const ours = JSON.parse(r.stdout);
        delete ours["qcow2-forensic"];
        const qemu = JSON.parse(
          execFileSync("qemu-img", ["info", "--output=json", join(devs, name)], {
            encoding: "utf8",
          }),
        );
        expect(ours).toEqual(qemu);
      });

      it("audit --format json --hash-container equals the file's, digests of the whole device included", async () => {
        const [file, device] = await onBoth((d) => [
          "audit",
          "--format",
          "json",
          "--now",
          NOW,
          "--hash-container",
          "--hash-algorithm",
          "sha256,md5",
          ...extra(name),
          join(d, name),
        ]);
        expect(device.code, explainRun(device)).toBe(file.code);
        const fromFile = JSON.parse(file.stdout).images;
        const fromDevice = JSON.parse(asFiles(device.stdout)).images;
        expect(fromDevice).toEqual(fromFile);
        expect(fromFile[0].error).toBeNull();
        expect(fromDevice[0].container.size).toBe(readFileSync(join(files, name)).length);
        expect(fromDevice[0].container.hashes.sha256).toBe(before.get(name));
      });

      it("check --json equals the file's", async () => {
        const [file, device] = await onBoth((d) => [
          "check",
          "--json",
          ...extra(name),
          join(d, name),
        ]);
        expect(device.code, explainRun(device)).toBe(file.code);
        expect(JSON.parse(asFiles(device.stdout))).toEqual(JSON.parse(file.stdout));
      });

      it("map --json equals the file's", async () => {
        const [file, device] = await onBoth((d) => [
          "map",
          "--json",
          ...extra(name),
          join(d, name),
        ]);
        expect(file.code, explainRun(file)).toBe(0);
        expect(device.code, explainRun(device)).toBe(0);
        expect(device.stdout).toBe(file.stdout);
      });

      it("hash --container equals the file's: guest disk and the whole container", async () => {
        const [file, device] = await onBoth((d) => [
          "hash",
          "--json",
          "--container",
          "--algorithm",
          "sha256,md5",
          ...extra(name),
          join(d, name),
        ]);
        expect(device.code, explainRun(device)).toBe(0);
        expect(JSON.parse(asFiles(device.stdout))).toEqual(JSON.parse(file.stdout));
        expect(JSON.parse(device.stdout).container.sha256).toBe(before.get(name));
      });
    });
  }

  for (const [command, format, passphrase] of [
    ["snapshots", ["--format", "json"], false],
    ["bitmaps", ["--json"], false],
    ["volumes", ["--json"], true],
  ] as const) {
    it(`${command} ${format.join(" ")} equals the file's for every image`, async () => {
      for (const name of IMAGES) {
        const [file, device] = await onBoth((d) => [
          command,
          ...format,
          ...(passphrase ? extra(name) : []),
          join(d, name),
        ]);
        expect(file.code, explainRun(file)).toBe(0);
        expect(device.code, explainRun(device)).toBe(0);
        expect(JSON.parse(asFiles(device.stdout)), name).toEqual(JSON.parse(file.stdout));
      }
    });
  }

  it("diff --json equals the file's: snapshot against active disk, two devices' disks, a dirty bitmap", async () => {
    for (const args of [
      (d: string) => ["diff", "--json", "--from", "snapshot:1", join(d, "snapshots.qcow2")],
      (d: string) => ["diff", "--json", join(d, "clean-v3.qcow2"), join(d, "overlay.qcow2")],
      (d: string) => ["diff", "--json", "--bitmap", "bm-enabled", join(d, "bitmaps.qcow2")],
    ]) {
      const [file, device] = await onBoth(args);
      // 1: different, as qemu-img compare says.
      expect(file.code, explainRun(file)).toBe(1);
      expect(device.code, explainRun(device)).toBe(1);
      const fromFile = JSON.parse(file.stdout);
      expect(fromFile.extents.length).toBeGreaterThan(0);
      expect(JSON.parse(asFiles(device.stdout))).toEqual(fromFile);
    }
  });

  it("a three-image chain of devices resolves down the links' folder, as qemu-img does", async (ctx) => {
    if (qemuOrSkipReason() !== undefined) return ctx.skip();
    const top = join(devs, "chain-top.qcow2");
    const qemu = execFileSync("qemu-img", ["map", "--output=json", top], { encoding: "utf8" });
    const r = await runMain(["map", "--json", top]);
    expect(r.code, explainRun(r)).toBe(0);
    expect(r.stdout.trim()).toBe(qemu.trim());
  });

  describe("the overlay named by its bare /dev/loopN", () => {
    it("looks for its relative backing file in /dev, as qemu-img does, and says where it looked", async () => {
      const overlay = deviceOf.get("overlay.qcow2") as string;
      const r = await runMain(["map", "--json", overlay]);
      expect(r.code, explainRun(r)).toBe(3);
      expect(r.stderr).toBe(
        `qcow2-forensic: ${overlay}: backing file "base.qcow2" not found (looked for /dev/base.qcow2)\n`,
      );
      if (qemuOrSkipReason() === undefined) {
        expect(() =>
          execFileSync("qemu-img", ["map", "--output=json", overlay], { stdio: "pipe" }),
        ).toThrow(/Could not open '\/dev\/base\.qcow2'/);
      }
    });

    it("with --backing-dir naming the backing device's folder, map and audit equal the file's", async () => {
      const overlay = deviceOf.get("overlay.qcow2") as string;
      const fileMap = await runMain(["map", "--json", join(files, "overlay.qcow2")]);
      const deviceMap = await runMain(["map", "--json", "--backing-dir", devs, overlay]);
      expect(deviceMap.code, explainRun(deviceMap)).toBe(0);
      expect(deviceMap.stdout).toBe(fileMap.stdout);
      if (qemuOrSkipReason() === undefined) {
        // qemu-img's own way to the same chain: the backing file named in full.
        const qemu = execFileSync(
          "qemu-img",
          [
            "map",
            "--output=json",
            "--image-opts",
            `driver=qcow2,file.filename=${overlay},backing.file.filename=${join(devs, "base.qcow2")}`,
          ],
          { encoding: "utf8" },
        );
        expect(deviceMap.stdout.trim()).toBe(qemu.trim());
      }
      const audit = (path: string, backingDir: string[]) =>
        runMain(["audit", "--format", "json", "--now", NOW, ...backingDir, path]);
      const fileAudit = await audit(join(files, "overlay.qcow2"), []);
      const deviceAudit = await audit(overlay, ["--backing-dir", devs]);
      expect(deviceAudit.code, explainRun(deviceAudit)).toBe(fileAudit.code);
      const fromFile = JSON.parse(fileAudit.stdout).images[0];
      const fromDevice = JSON.parse(asFiles(deviceAudit.stdout)).images[0];
      expect(fromDevice.error).toBeNull();
      expect(fromDevice.findings).toEqual(fromFile.findings);
    });
  });

  it("audit of the links' folder finds the QCOW devices and reports what the files' folder gives", async () => {
    // The built CLI, so that the batch runs on its worker threads.
    const args = (d: string) => [
      "audit",
      "--format",
      "json",
      "--now",
      NOW,
      "--passphrase-file",
      passphrase,
      d,
    ];
    const [file, device] = await Promise.all([runCliAsync(args(files)), runCliAsync(args(devs))]);
    const fromFile = JSON.parse(file.stdout).images;
    const fromDevice = JSON.parse(asFiles(device.stdout)).images;
    expect(fromFile.map((i: { path: string }) => i.path)).toEqual(
      FILES.filter((f) => f.endsWith(".qcow2"))
        .sort()
        .map((f) => join(files, f)),
    );
    expect(fromDevice).toEqual(fromFile);
    expect(device.code, explain(device)).toBe(file.code);
  });

  describe("export onto block devices", () => {
    const clean = set.entries.find((e) => e.name === "clean-v3");
    const rawSha = set.answerText("clean-v3", "raw.sha256") as string;
    const virtualSize = 4 * 1024 * 1024;

    /** A writable scratch device of `size` bytes, filled with 0xAA so every byte written shows. */
    const scratch = (size: number): { file: string; device: string } => {
      const file = join(dir, `scratch-${size}.img`);
      writeFileSync(file, Buffer.alloc(size, 0xaa));
      const device = attachLoop(file, { writable: true });
      attached.push(device);
      return { file, device };
    };

    it("is refused without --force, and the device is left as it was", async () => {
      const { file, device } = scratch(virtualSize);
      const r = await runCliAsync(["export", join(files, "clean-v3.qcow2"), device]);
      expect(r.code, explain(r)).toBe(2);
      expect(r.stderr).toContain("is a block device; use --force");
      expect(readFileSync(file).every((b) => b === 0xaa)).toBe(true);
    });

    it("with --force writes every byte of the guest disk (zeros too) equal to qemu-img convert, and leaves the rest", async () => {
      expect(clean?.name).toBe("clean-v3");
      const { file, device } = scratch(virtualSize + 64 * 1024);
      const r = await runCliAsync([
        "export",
        "--force",
        "--hash",
        "sha256",
        "--quiet",
        join(files, "clean-v3.qcow2"),
        device,
      ]);
      expect(r.code, explain(r)).toBe(0);
      expect(r.stdout).toContain(`SHA256 (${device}) = ${rawSha}`);
      expect(r.stderr).toContain(
        "65536 bytes (past the guest disk's 4194304) were left as they were",
      );
      const written = readFileSync(file);
      expect(sha256(written.subarray(0, virtualSize))).toBe(rawSha);
      expect(written.subarray(virtualSize).every((b) => b === 0xaa)).toBe(true);
    });

    it("onto a device smaller than the guest disk is refused before anything is written", async () => {
      const { file, device } = scratch(virtualSize - 512);
      const r = await runCliAsync(["export", "--force", join(files, "clean-v3.qcow2"), device]);
      expect(r.code, explain(r)).toBe(2);
      expect(r.stderr).toContain("fewer than the guest disk's 4194304");
      expect(readFileSync(file).every((b) => b === 0xaa)).toBe(true);
    });

    it("onto the evidence device itself is refused, by device number, whatever name either is given by", async () => {
      const evidence = deviceOf.get("overlay.qcow2") as string;
      const r = await runCliAsync(["export", "--force", join(devs, "overlay.qcow2"), evidence]);
      expect(r.code, explain(r)).toBe(2);
      expect(r.stderr).toContain(
        `refusing to write to this device: it is the evidence device ${join(devs, "overlay.qcow2")}`,
      );
      // The backing file's device, named only inside the image.
      const base = deviceOf.get("base.qcow2") as string;
      const b = await runCliAsync(["export", "--force", join(devs, "overlay.qcow2"), base]);
      expect(b.code, explain(b)).toBe(2);
      expect(b.stderr).toContain("it is the evidence device");
    });

    it("onto a writable loop device over the evidence file is refused", async () => {
      const evidence = join(files, "clean-v3.qcow2");
      const device = attachLoop(evidence, { writable: true });
      attached.push(device);
      try {
        const r = await runCliAsync(["export", "--force", evidence, device]);
        expect(r.code, explain(r)).toBe(2);
        expect(r.stderr).toContain(`it is a loop device over the evidence file ${evidence}`);
      } finally {
        const failure = detachLoop(device);
        if (failure === null) attached.splice(attached.indexOf(device), 1);
      }
    });
  });

  // Last: every command above has run on the devices and files.
  it("no device's bytes (and no file's) changed", () => {
    for (const name of FILES) {
      expect(sha256(readFileSync(deviceOf.get(name) as string)), name).toBe(before.get(name));
      expect(sha256(readFileSync(join(files, name))), name).toBe(before.get(name));
    }
  });
});
