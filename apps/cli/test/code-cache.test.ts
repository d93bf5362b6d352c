import {
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { version } from "../package.json";
import { codeCacheDir } from "../src/launch/code-cache.js";
import { explain, runCli } from "./run-cli.js";

// The launcher's V8 code cache (src/launch/code-cache.ts), run as users run the CLI.
describe("code cache of the CLI's bundles", () => {
  let home: string;
  let dir: string;
  const run = (args: string[], env: Record<string, string> = {}) =>
    runCli(args, { env: { XDG_CACHE_HOME: home, QCOW2_FORENSIC_NO_CODE_CACHE: "", ...env } });
  const entries = () => (existsSync(dir) ? readdirSync(dir).sort() : []);

  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), "qcow2-code-cache-"));
    dir = codeCacheDir({ XDG_CACHE_HOME: home }) as string;
  });
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  it("lives under XDG_CACHE_HOME, else ~/.cache, and is off with QCOW2_FORENSIC_NO_CODE_CACHE=1", () => {
    expect(codeCacheDir({ XDG_CACHE_HOME: "/c" })).toBe("/c/qcow2-forensic/code-cache");
    expect(codeCacheDir({ HOME: "/h" })).toBe("/h/.cache/qcow2-forensic/code-cache");
    expect(codeCacheDir({ HOME: "/h", QCOW2_FORENSIC_NO_CODE_CACHE: "1" })).toBeNull();
    expect(codeCacheDir({})).toBeNull();
  });

  it("is written by the first run of a bundle, private to the user, and used as is by the next", () => {
    const first = run(["--version"]);
    expect(first.code, explain(first)).toBe(0);
    expect(first.stdout).toBe(`${version}\n`);
    const [file, ...more] = entries();
    expect(more).toEqual([]);
    expect(file).toMatch(
      new RegExp(`^cli-bare\\.js-\\d+-\\d+-${process.version}-${process.arch}\\.v8$`),
    );
    const path = join(dir, file as string);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const written = statSync(path);

    const second = run(["--version"]);
    expect(second.stdout).toBe(first.stdout);
    // Accepted by V8: not written again.
    const after = statSync(path);
    expect([after.ino, after.mtimeMs]).toEqual([written.ino, written.mtimeMs]);
  });

  it("a command's run caches its own bundle, and answers as without a cache", () => {
    const fixture = join(__dirname, "../../../fixtures/images/snapshots.qcow2");
    const plain = run(["info", "--json", fixture], { QCOW2_FORENSIC_NO_CODE_CACHE: "1" });
    expect(plain.code, explain(plain)).toBe(0);
    expect(entries()).toEqual([]);
    const cold = run(["info", "--json", fixture]);
    const warm = run(["info", "--json", fixture]);
    expect(entries().map((f) => f.split("-").slice(0, 2).join("-"))).toEqual(["cli-info.js"]);
    expect(cold.stdout).toBe(plain.stdout);
    expect(warm.stdout).toBe(plain.stdout);
  });

  it("a damaged cache is rejected and replaced; caches of other builds of the bundle are removed", () => {
    run(["--version"]);
    const [file] = entries();
    const path = join(dir, file as string);
    const damaged = Buffer.alloc(statSync(path).size, 0x5a);
    writeFileSync(path, damaged);
    const stale = join(dir, "cli-bare.js-1-1-v0.0.0-x64.v8");
    writeFileSync(stale, "old");
    const r = run(["--version"]);
    expect(r.code, explain(r)).toBe(0);
    expect(r.stdout).toBe(`${version}\n`);
    expect(readFileSync(path).equals(damaged)).toBe(false);
    expect(entries()).toEqual([file]);
  });

  it.skipIf(process.getuid?.() !== 0)(
    "a cache file the user does not own is not read (it holds code), and is replaced",
    () => {
      run(["--version"]);
      const [file] = entries();
      const path = join(dir, file as string);
      // A valid cache: were it read, V8 would take it and it would stay as it is.
      chownSync(path, 65534, 65534);
      const r = run(["--version"]);
      expect(r.stdout).toBe(`${version}\n`);
      expect(statSync(path).uid).toBe(0);
    },
  );

  it("where the cache cannot be written, the tool runs without it", () => {
    const notADirectory = join(home, "file");
    writeFileSync(notADirectory, "");
    const r = run(["--version"], { XDG_CACHE_HOME: notADirectory });
    expect(r.code, explain(r)).toBe(0);
    expect(r.stdout).toBe(`${version}\n`);
    expect(r.stderr).toBe("");
    mkdirSync(join(home, "ro"), { mode: 0o500 });
    const ro = run(["--version"], { XDG_CACHE_HOME: join(home, "ro") });
    expect([ro.code, ro.stdout, ro.stderr]).toEqual([0, `${version}\n`, ""]);
  });
});
