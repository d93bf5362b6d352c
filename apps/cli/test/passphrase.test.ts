import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadFixtureSet } from "../../../fixtures/harness/index.js";
import { CLI, explain, parseJsonOutput, runCli } from "./run-cli.js";

const set = loadFixtureSet();
const luks = set.entries.find((e) => e.name === "luks");
if (!luks?.passphraseFile) throw new Error("luks fixture missing");
const image = set.path(luks);
const passFile = join(set.dir, luks.passphraseFile);
const expected = set.answerText("luks", "raw.sha256") as string;

describe("encrypted images on the command line", () => {
  it("export --passphrase-file writes the disk qemu-img convert writes with the same secret", () => {
    const out = join(mkdtempSync(join(tmpdir(), "qcow2-luks-")), "disk.raw");
    const r = runCli(["export", "--hash", "sha256", "--passphrase-file", passFile, image, out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(expected);
  });

  it("a passphrase file with a trailing newline still works (echo pass > file)", () => {
    const file = join(mkdtempSync(join(tmpdir(), "qcow2-pass-")), "pass");
    writeFileSync(file, `${execFileSync("cat", [passFile], { encoding: "utf8" })}\n`);
    expect(runCli(["hash", "--passphrase-file", file, image]).stdout).toContain(expected);
  });

  it("a wrong passphrase exits 3 with one clear line and leaves no output file", () => {
    const dir = mkdtempSync(join(tmpdir(), "qcow2-luks-"));
    const file = join(dir, "wrong");
    writeFileSync(file, "not the passphrase");
    const r = runCli(["export", "--passphrase-file", file, image, join(dir, "disk.raw")]);
    expect(r.code, explain(r)).toBe(3);
    expect(r.stderr.trim().split("\n")).toEqual([
      expect.stringContaining("passphrase unlocks no active LUKS key slot"),
    ]);
    expect(readdirSync(dir)).toEqual(["wrong"]);
  });

  it("without a passphrase, reading guest data asks for one; audit still shows the LUKS facts", () => {
    expect(runCli(["hash", image]).stderr).toContain("a passphrase is needed");
    const findings = parseJsonOutput(runCli(["audit", "--format", "json", image])).images[0]
      .findings;
    const facts = findings.find((f: { code: string }) => f.code === "QCOW2-LUKS");
    expect(facts.evidence.map((e: { field: string }) => e.field)).toEqual(
      expect.arrayContaining(["cipher_name", "cipher_mode", "hash_spec", "uuid", "key_slot_0"]),
    );
  });

  const hasScript = spawnSync("script", ["--version"]).status === 0;
  it.skipIf(!hasScript)(
    "--ask-passphrase reads the passphrase from the terminal without echoing it",
    () => {
      const pass = execFileSync("cat", [passFile], { encoding: "utf8" });
      // Type the passphrase after the prompt is up, as a person would.
      const tty = execFileSync(
        "sh",
        ["-c", `(sleep 1; printf '%s\\r' "$PASS") | script -qec "$CMD" /dev/null`],
        {
          encoding: "utf8",
          env: {
            ...process.env,
            PASS: pass,
            CMD: `${process.execPath} ${CLI} hash --ask-passphrase ${image}`,
          },
        },
      );
      expect(tty).toContain("Passphrase:");
      expect(tty).toContain(expected);
      expect(tty).not.toContain(pass);
    },
  );

  it("--ask-passphrase without a terminal is a usage error, not a hang", () => {
    expect(runCli(["hash", "--ask-passphrase", image]).code).toBe(2);
  });

  it("there is no way to give a passphrase on the command line", () => {
    expect(runCli(["hash", "--passphrase", "x", image]).code).toBe(2);
    expect(existsSync(CLI)).toBe(true);
  });
});
