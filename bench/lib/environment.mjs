// The machine the bench runs on: prerequisites, the lock against concurrent benches, the scratch
// folder, the build being measured (and a snapshot copy of it), and the facts the report records.
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import { builtinModules } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const BENCH_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const REPO = path.resolve(BENCH_DIR, "..");
const CLI_DIST = path.join(REPO, "apps/cli/dist");
const CLI_BUILT = path.join(CLI_DIST, "cli.js");
/** How the report names our CLI (the path a reader runs from the repository root). */
export const CLI_SHOWN = "node apps/cli/dist/cli.js";
export const GNU_TIME = "/usr/bin/time";
export const TMP = process.env.TMPDIR || os.tmpdir();

function which(cmd) {
  const r = spawnSync("sh", ["-c", `command -v ${cmd}`], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** Exits (0 when QEMU is absent: nothing to compare against; 1 when the CLI is not built). */
export function checkPrerequisites() {
  if (!which("qemu-img") || !which("qemu-io")) {
    console.log(
      "bench: SKIPPED: qemu-img/qemu-io not found (install qemu-utils); nothing was measured.",
    );
    process.exit(0);
  }
  if (!fs.existsSync(CLI_BUILT)) {
    console.error(`bench: ${CLI_BUILT} is missing: build first (npx --yes pnpm@10.34.8 build)`);
    process.exit(1);
  }
  const haveTime = fs.existsSync(GNU_TIME);
  if (!haveTime) console.log(`bench: ${GNU_TIME} not found: peak RSS will read n/a`);
  const qemuVersion = execFileSync("qemu-img", ["--version"], { encoding: "utf8" }).split("\n")[0];
  return { haveTime, qemuVersion };
}

// Two benches at once measure each other (2 cores): refuse to start while another one runs.
const LOCK = path.join(TMP, "qcow2-bench.lock");
function takeLock() {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(LOCK, String(process.pid), { flag: "wx" });
      return;
    } catch {
      const holder = Number(fs.readFileSync(LOCK, "utf8"));
      let alive = false;
      try {
        process.kill(holder, 0);
        alive = holder > 0;
      } catch {}
      if (alive) {
        console.error(
          `bench: another bench (pid ${holder}) is running; concurrent runs skew each other's timings. Wait for it, or stop it.`,
        );
        process.exit(1);
      }
      fs.rmSync(LOCK, { force: true }); // left by a run that died
    }
  }
}

/** Takes the lock and makes the scratch folder; both go when the process exits or is stopped. */
export function claimScratch() {
  takeLock();
  const work = fs.mkdtempSync(path.join(TMP, "qcow2-bench-run-"));
  const cleanup = () => {
    fs.rmSync(work, { recursive: true, force: true });
    if (fs.existsSync(LOCK) && fs.readFileSync(LOCK, "utf8") === String(process.pid))
      fs.rmSync(LOCK, { force: true });
  };
  process.on("exit", cleanup);
  for (const sig of ["SIGINT", "SIGTERM"]) {
    process.on(sig, () => {
      cleanup();
      process.exit(130);
    });
  }
  return work;
}

// What the CLI runs: every built file of the app and the workspace packages. Others may rebuild
// while the bench runs; comparing this at the start and the end tells.
export function buildFingerprint() {
  const dirs = [path.join(REPO, "apps/cli/dist")];
  const pk = path.join(REPO, "packages");
  if (fs.existsSync(pk)) for (const d of fs.readdirSync(pk)) dirs.push(path.join(pk, d, "dist"));
  const parts = [];
  for (const d of dirs) {
    if (!fs.existsSync(d)) continue;
    for (const f of fs.readdirSync(d, { recursive: true }).sort()) {
      const st = fs.statSync(path.join(d, f));
      if (st.isFile())
        parts.push(`${path.relative(REPO, path.join(d, f))}:${st.size}:${st.mtimeMs}`);
    }
  }
  return parts.join("\n");
}

function bareImports(code) {
  const builtins = new Set(builtinModules);
  const found = new Set();
  const patterns = [
    /^\s*import\s[^;]*?\sfrom\s*["']([^"']+)["']/gm,
    /^\s*import\s*["']([^"']+)["']/gm,
    /\bimport\(\s*["']([^"']+)["']\s*\)/g,
    /\brequire\(\s*["']([^"']+)["']\s*\)/g,
  ];
  for (const re of patterns) {
    for (const m of code.matchAll(re)) {
      const spec = m[1];
      if (/^(\.|\/|node:|data:|file:)/.test(spec) || builtins.has(spec)) continue;
      found.add(spec);
    }
  }
  return [...found];
}

// The CLI is bundled into self-contained files (node built-ins aside): run a copy of dist/ taken
// now, so that a rebuild of the working tree while the bench runs cannot change or break what
// is measured. Falls back to the built files in place when a bundle imports a package.
export function snapshotCli(work) {
  for (let tries = 0; tries < 5; tries++) {
    const before = buildFingerprint();
    const dir = path.join(work, `cli-${tries}`);
    fs.mkdirSync(dir);
    const files = fs.existsSync(CLI_DIST)
      ? fs.readdirSync(CLI_DIST).filter((f) => /\.(m|c)?js$/.test(f) || f === "package.json")
      : [];
    for (const f of files) fs.copyFileSync(path.join(CLI_DIST, f), path.join(dir, f));
    if (files.includes("cli.js") && buildFingerprint() === before) {
      const bare = files
        .filter((f) => f !== "package.json")
        .flatMap((f) => bareImports(fs.readFileSync(path.join(dir, f), "utf8")));
      const sha = createHash("sha256")
        .update(fs.readFileSync(path.join(dir, "cli.js")))
        .digest("hex")
        .slice(0, 12);
      if (bare.length) return { cli: CLI_BUILT, snapshot: false, bare, sha };
      return { cli: path.join(dir, "cli.js"), snapshot: true, files, sha };
    }
    // dist/ was being rebuilt while we copied: wait and copy again.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 3000);
  }
  return { cli: CLI_BUILT, snapshot: false, bare: [], sha: "unknown" };
}

export function cpuModel() {
  try {
    const m = fs.readFileSync("/proc/cpuinfo", "utf8").match(/^model name\s*:\s*(.*)$/m);
    if (m) return m[1].trim();
  } catch {}
  return os.cpus()[0]?.model ?? "unknown";
}

export function fsType(dir) {
  const r = spawnSync("stat", ["-f", "-c", "%T", dir], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : "unknown";
}

export function gitState() {
  const git = (...a) => spawnSync("git", ["-C", REPO, ...a], { encoding: "utf8" });
  const head = git("rev-parse", "--short", "HEAD");
  if (head.status !== 0) return "unknown (not a git checkout)";
  const dirty = git("status", "--porcelain", "--", "packages", "apps").stdout.trim();
  return `${head.stdout.trim()}${dirty ? " + uncommitted changes in packages/ or apps/ (the CLI was built from the working tree)" : ""}`;
}
