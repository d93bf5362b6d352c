#!/usr/bin/env node
// qcow2-forensic performance bench: our CLI against qemu-img on large generated images.
//
//   npx --yes pnpm@10.34.8 bench                 full run, writes bench/results.md
//   node bench/run.mjs --quick                   3 runs, no 8 GiB image
//   node bench/run.mjs --only hash,limits        some groups only
//   node bench/run.mjs --rebuild                 regenerate the cached images
//
// Plain Node ESM, no dependencies. Needs qemu-img and qemu-io (skips cleanly without them)
// and GNU time at /usr/bin/time for peak RSS (wall time only without it).

import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import { builtinModules } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

// Bump when an image recipe changes: cached images with another key are rebuilt.
const IMAGES_VERSION = "qcow2-bench-images-v1";

const GiB = 2 ** 30;
const MiB = 2 ** 20;
const KiB = 1024;
const GROUPS = ["limits", "hash", "export", "check", "map", "info", "audit"];
const ALL_IMAGES = ["alloc-1g", "zlib-1g", "zstd-1g", "sparse-8g", "meta-4m", "snap-20"];

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(BENCH_DIR, "..");
const CLI_DIST = path.join(REPO, "apps/cli/dist");
const CLI_BUILT = path.join(CLI_DIST, "cli.js");
const CLI_SHOWN = "node apps/cli/dist/cli.js";
const NODE = process.execPath;
const GNU_TIME = "/usr/bin/time";

// ---------------------------------------------------------------------------------------------
// Options

function usage(code) {
  console.log(`usage: node bench/run.mjs [--quick] [--only <group>[,<group>…]] [--images <image>[,…]] [--rebuild] [--runs N] [--out FILE]

  --quick        3 timed runs per command and no 8 GiB image (sparse-8g)
  --only LIST    run only these groups: ${GROUPS.join(", ")}
  --images LIST  use only these images: ${ALL_IMAGES.join(", ")}
  --rebuild      regenerate the cached images
  --runs N       timed runs per command (default 5; commands under 1 s get 4 more)
  --out FILE     where to write the report (default bench/results.md for a full run,
                 bench/results.partial.md for --quick or --only)`);
  process.exit(code);
}

function parseArgs(argv) {
  const o = { quick: false, only: null, images: null, rebuild: false, runs: null, out: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = a.includes("=") ? a.slice(a.indexOf("=") + 1) : argv[++i];
      if (v === undefined) {
        console.error(`${a} needs a value`);
        usage(2);
      }
      return v;
    };
    if (a === "--quick") o.quick = true;
    else if (a === "--rebuild") o.rebuild = true;
    else if (a === "--only" || a.startsWith("--only=")) {
      o.only = value()
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
      for (const g of o.only) {
        if (!GROUPS.includes(g)) {
          console.error(`unknown group "${g}" (groups: ${GROUPS.join(", ")})`);
          usage(2);
        }
      }
    } else if (a === "--images" || a.startsWith("--images=")) {
      o.images = value()
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
      for (const n of o.images) {
        if (!ALL_IMAGES.includes(n)) {
          console.error(`unknown image "${n}" (images: ${ALL_IMAGES.join(", ")})`);
          usage(2);
        }
      }
    } else if (a === "--runs" || a.startsWith("--runs=")) {
      o.runs = Number.parseInt(value(), 10);
      if (!(o.runs >= 1)) usage(2);
    } else if (a === "--out" || a.startsWith("--out=")) o.out = path.resolve(value());
    else if (a === "-h" || a === "--help") usage(0);
    else {
      console.error(`unknown argument ${a}`);
      usage(2);
    }
  }
  return o;
}

const opts = parseArgs(process.argv.slice(2));
const groups = opts.only ?? GROUPS;
const want = (g) => groups.includes(g);
const RUNS = opts.runs ?? (opts.quick ? 3 : 5);
const RUNS_FAST = opts.runs ?? (opts.quick ? 3 : RUNS + 4);
const partial = opts.quick || opts.only !== null || opts.images !== null || opts.runs !== null;
const OUT = opts.out ?? path.join(BENCH_DIR, partial ? "results.partial.md" : "results.md");

// ---------------------------------------------------------------------------------------------
// Prerequisites

function which(cmd) {
  const r = spawnSync("sh", ["-c", `command -v ${cmd}`], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : null;
}

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
const HAVE_TIME = fs.existsSync(GNU_TIME);
if (!HAVE_TIME) console.log(`bench: ${GNU_TIME} not found: peak RSS will read n/a`);

const QEMU_VERSION = execFileSync("qemu-img", ["--version"], { encoding: "utf8" }).split("\n")[0];

const TMP = process.env.TMPDIR || os.tmpdir();
const CACHE = path.join(TMP, "qcow2-bench-cache");
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
takeLock();
const WORK = fs.mkdtempSync(path.join(TMP, "qcow2-bench-run-"));
const DEVNULL = fs.openSync("/dev/null", "w");

function cleanup() {
  fs.rmSync(WORK, { recursive: true, force: true });
  if (fs.existsSync(LOCK) && fs.readFileSync(LOCK, "utf8") === String(process.pid))
    fs.rmSync(LOCK, { force: true });
}
process.on("exit", cleanup);
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => {
    cleanup();
    process.exit(130);
  });
}

// What the CLI runs: every built file of the app and the workspace packages. Others may rebuild
// while the bench runs; comparing this at the start and the end tells.
function buildFingerprint() {
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
const BUILD_AT_START = buildFingerprint();

// The CLI is bundled into self-contained files (node built-ins aside): run a copy of dist/ taken
// now, so that a rebuild of the working tree while the bench runs cannot change or break what
// is measured. Falls back to the built files in place when a bundle imports a package.
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

function snapshotCli() {
  for (let tries = 0; tries < 5; tries++) {
    const before = buildFingerprint();
    const dir = path.join(WORK, `cli-${tries}`);
    fs.mkdirSync(dir);
    const files = fs.existsSync(CLI_DIST)
      ? fs.readdirSync(CLI_DIST).filter((f) => /\.(m|c)?js$/.test(f))
      : [];
    for (const f of files) fs.copyFileSync(path.join(CLI_DIST, f), path.join(dir, f));
    if (files.includes("cli.js") && buildFingerprint() === before) {
      const bare = files.flatMap((f) => bareImports(fs.readFileSync(path.join(dir, f), "utf8")));
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
const CLI_RUN = snapshotCli();
const CLI = CLI_RUN.cli;

const t0 = process.hrtime.bigint();
const elapsed = () => Number(process.hrtime.bigint() - t0) / 1e9;
const log = (s) => console.log(`[${elapsed().toFixed(0).padStart(4)} s] ${s}`);

// ---------------------------------------------------------------------------------------------
// Deterministic data (seeded xorshift128), so the generated images are the same on every machine

function rng(seed) {
  let a = seed >>> 0 || 1;
  let b = 0x9e3779b9;
  let c = 0x85ebca6b;
  let d = 0xc2b2ae35;
  return () => {
    const t = a ^ (a << 11);
    a = b;
    b = c;
    c = d;
    d = (d ^ (d >>> 19) ^ (t ^ (t >>> 8))) >>> 0;
    return d;
  };
}

function fillRandom(buf, r) {
  const words = new Uint32Array(buf.buffer, buf.byteOffset, buf.length >>> 2);
  for (let i = 0; i < words.length; i++) words[i] = r();
}

// ~16 MiB of log-like text and word salad: compresses about 3x per 64 KiB cluster.
function textPool(r, size = 16 * MiB) {
  const syl = "ka ri to mo ne su la vi po de gra shi un ex ter qua bo fi zen lo".split(" ");
  const words = [];
  for (let i = 0; i < 800; i++) {
    let w = "";
    const n = 1 + (r() % 4);
    for (let j = 0; j < n; j++) w += syl[r() % syl.length];
    words.push(w);
  }
  const procs = ["sshd", "cron", "kernel", "nginx", "postgres", "systemd", "dockerd"];
  const parts = [];
  let len = 0;
  while (len < size) {
    let line;
    if (r() % 3 === 0) {
      const n = 5 + (r() % 15);
      const ws = [];
      for (let j = 0; j < n; j++) ws.push(words[Math.min(r() % 800, r() % 800)]);
      line = `${ws.join(" ")}.\n`;
    } else {
      const t = new Date((1_700_000_000 + (r() % 40_000_000)) * 1000).toISOString();
      line =
        `${t} host-${r() % 50} ${procs[r() % 7]}[${r() % 65536}]: ${words[r() % 100]} ` +
        `${words[r() % 800]} id=${(r() & 0xfff).toString(16)} from 10.0.${r() % 8}.${r() % 64} ` +
        `port ${1024 + (r() % 512)}\n`;
    }
    parts.push(line);
    len += line.length;
  }
  return Buffer.from(parts.join(""), "latin1");
}

// 1 MiB chunks: 65% text slices, 4% random, 11% zeros, 20% structured binary (tables of
// counters and constants). About 3x smaller once qemu-img compresses it cluster by cluster.
function writeCompressibleRaw(file, size, seed) {
  const r = rng(seed);
  const pool = textPool(r);
  const CH = MiB;
  const buf = Buffer.alloc(CH);
  const u32 = new Uint32Array(buf.buffer, buf.byteOffset, CH / 4);
  const fd = fs.openSync(file, "w");
  try {
    for (let done = 0; done < size; done += CH) {
      const k = r() % 100;
      if (k < 65) {
        const o = r() % (pool.length - CH);
        pool.copy(buf, 0, o, o + CH);
      } else if (k < 69) {
        fillRandom(buf, r);
      } else if (k < 80) {
        buf.fill(0);
      } else {
        let base = r();
        for (let j = 0; j < u32.length; j += 4) {
          base = (base + 8) >>> 0;
          u32[j] = base;
          u32[j + 1] = r() & 3;
          u32[j + 2] = 0x7f454c46;
          u32[j + 3] = j;
        }
      }
      fs.writeSync(fd, buf, 0, CH, done);
    }
  } finally {
    fs.closeSync(fd);
  }
}

// 8 GiB sparse raw: in each 8 MiB slot one extent of 4 KiB..1.6 MiB at a random 512-byte
// aligned offset (random or text data): about 10% of the disk, in ~1000 scattered extents.
function writeSparseRaw(file, size, seed) {
  const r = rng(seed);
  const pool = textPool(r, 4 * MiB);
  const SLOT = 8 * MiB;
  const MAX = Math.floor((1.6 * MiB) / 4096);
  const buf = Buffer.alloc(MAX * 4096 + 4096);
  const fd = fs.openSync(file, "w");
  let written = 0;
  try {
    fs.ftruncateSync(fd, size);
    for (let slot = 0; slot < size; slot += SLOT) {
      const len = (1 + (r() % MAX)) * 4096;
      const off = slot + (r() % ((SLOT - len) / 512)) * 512;
      if (r() & 1) fillRandom(buf.subarray(0, len), r);
      else {
        const o = r() % (pool.length - len);
        pool.copy(buf, 0, o, o + len);
      }
      fs.writeSync(fd, buf, 0, len, off);
      written += len;
    }
  } finally {
    fs.closeSync(fd);
  }
  return written;
}

// 16 GiB sparse raw with one 4 KiB block every 64 KiB: 262144 allocated 4 KiB clusters and
// all 8192 L2 tables once converted with cluster_size=4096 (4194304 clusters in all).
function writeMetaRaw(file, size, stride) {
  const buf = Buffer.alloc(4096, 0xa5);
  const fd = fs.openSync(file, "w");
  let n = 0;
  try {
    fs.ftruncateSync(fd, size);
    for (let off = 0; off < size; off += stride) {
      buf.writeUInt32LE(n++, 0);
      buf.writeDoubleLE(off, 8);
      fs.writeSync(fd, buf, 0, 4096, off);
    }
  } finally {
    fs.closeSync(fd);
  }
  return n;
}

// ---------------------------------------------------------------------------------------------
// Images (cached in $TMPDIR/qcow2-bench-cache, keyed by IMAGES_VERSION)

function sh(cmd, args, quiet = true) {
  const r = spawnSync(cmd, args, {
    encoding: "utf8",
    stdio: ["ignore", quiet ? "pipe" : "inherit", "pipe"],
    maxBuffer: 64 * MiB,
  });
  if (r.error) throw r.error;
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}): ${r.stderr?.slice(-2000)}`);
  }
  return r.stdout;
}

const imgPath = (name) => path.join(CACHE, `${name}.qcow2`);
const stampPath = (name) => path.join(CACHE, `${name}.stamp`);

function isCached(name) {
  try {
    return (
      fs.existsSync(imgPath(name)) &&
      JSON.parse(fs.readFileSync(stampPath(name), "utf8")).version === IMAGES_VERSION
    );
  } catch {
    return false;
  }
}

const BUILDERS = {
  "alloc-1g"(out) {
    const raw = path.join(CACHE, "alloc.raw");
    sh("sh", ["-c", `head -c 1G /dev/urandom > '${raw}'`]);
    sh("qemu-img", ["convert", "-O", "qcow2", "-o", "cluster_size=65536", raw, out]);
    fs.rmSync(raw);
  },
  "zlib-1g"(out) {
    const raw = compressibleRaw();
    sh("qemu-img", ["convert", "-c", "-O", "qcow2", "-o", "compression_type=zlib", raw, out]);
  },
  "zstd-1g"(out) {
    const raw = compressibleRaw();
    sh("qemu-img", ["convert", "-c", "-O", "qcow2", "-o", "compression_type=zstd", raw, out]);
  },
  "sparse-8g"(out) {
    const raw = path.join(CACHE, "sparse.raw");
    writeSparseRaw(raw, 8 * GiB, 8);
    sh("qemu-img", ["convert", "-O", "qcow2", raw, out]);
    fs.rmSync(raw);
  },
  "meta-4m"(out) {
    const raw = path.join(CACHE, "meta.raw");
    writeMetaRaw(raw, 16 * GiB, 64 * KiB);
    sh("qemu-img", ["convert", "-O", "qcow2", "-o", "cluster_size=4096", raw, out]);
    fs.rmSync(raw);
  },
  "snap-20"(out) {
    // 256 MiB disk, 64 MiB of mixed data, then 20 rounds of (writes, internal snapshot).
    const raw = path.join(CACHE, "snap.raw");
    writeCompressibleRaw(raw, 64 * MiB, 20);
    fs.truncateSync(raw, 256 * MiB);
    sh("qemu-img", ["convert", "-O", "qcow2", raw, out]);
    fs.rmSync(raw);
    const r = rng(2020);
    const writes = () => {
      const args = ["-f", "qcow2"];
      for (let k = 0; k < 6; k++) {
        const len = (1 + (r() % 32)) * 32 * KiB;
        const off = (r() % ((256 * MiB - len) / 4096)) * 4096;
        args.push("-c", `write -P 0x${(r() & 0xff).toString(16)} ${off} ${len}`);
      }
      sh("qemu-io", [...args, out]);
    };
    for (let i = 1; i <= 20; i++) {
      writes();
      sh("qemu-img", ["snapshot", "-c", `snap-${String(i).padStart(2, "0")}`, out]);
    }
    writes();
  },
};

let compressibleRawFile = null;
function compressibleRaw() {
  if (!compressibleRawFile) {
    compressibleRawFile = path.join(CACHE, "compressible.raw");
    writeCompressibleRaw(compressibleRawFile, GiB, 42);
  }
  return compressibleRawFile;
}

function ensureImages(names) {
  fs.mkdirSync(CACHE, { recursive: true });
  for (const name of names) {
    if (!opts.rebuild && isCached(name)) {
      log(`image ${name}: cached`);
      continue;
    }
    log(`image ${name}: building…`);
    const start = process.hrtime.bigint();
    const out = imgPath(name);
    const tmp = `${out}.building`;
    fs.rmSync(out, { force: true });
    fs.rmSync(stampPath(name), { force: true });
    fs.rmSync(tmp, { force: true });
    BUILDERS[name](tmp);
    fs.renameSync(tmp, out);
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    fs.writeFileSync(
      stampPath(name),
      JSON.stringify({ version: IMAGES_VERSION, qemu: QEMU_VERSION, seconds }),
    );
    log(`image ${name}: built in ${seconds.toFixed(1)} s`);
  }
  if (compressibleRawFile) fs.rmSync(compressibleRawFile, { force: true });
}

function describeImage(name) {
  const file = imgPath(name);
  const info = JSON.parse(sh("qemu-img", ["info", "--output=json", file]));
  const r = spawnSync("qemu-img", ["check", "--output=json", file], { encoding: "utf8" });
  let check = {};
  try {
    check = JSON.parse(r.stdout);
  } catch {}
  return {
    name,
    file,
    virtualSize: info["virtual-size"],
    fileSize: fs.statSync(file).size,
    clusterSize: info["cluster-size"],
    compression: info["format-specific"]?.data?.["compression-type"],
    snapshots: info.snapshots?.length ?? 0,
    totalClusters: check["total-clusters"],
    allocatedClusters: check["allocated-clusters"],
    compressedClusters: check["compressed-clusters"],
    checkExit: r.status,
  };
}

// ---------------------------------------------------------------------------------------------
// Measurement

// One run: wall from hrtime around the spawn (GNU time's %e has only 10 ms resolution), peak RSS
// from GNU time's %M (KiB; for `sh -c 'a && b'` it is the largest process of the tree).
function runOnce(argv, { capture = null } = {}) {
  // Flush what earlier runs wrote (their outputs are deleted already), so no writeback of a
  // previous run lands in this one.
  spawnSync("sync");
  const timeFile = path.join(WORK, "time.out");
  const full = HAVE_TIME ? [GNU_TIME, "-f", "%e %M", "-o", timeFile, ...argv] : argv;
  fs.rmSync(timeFile, { force: true });
  const outFd = capture ? fs.openSync(capture, "w") : DEVNULL;
  const start = process.hrtime.bigint();
  const r = spawnSync(full[0], full.slice(1), {
    stdio: ["ignore", outFd, "pipe"],
    maxBuffer: 256 * MiB,
    cwd: REPO,
  });
  const wall = Number(process.hrtime.bigint() - start) / 1e9;
  if (capture) fs.closeSync(outFd);
  if (r.error) throw r.error;
  // Signal handlers cannot run while spawnSync blocks: notice an interrupt from the child.
  if (r.signal === "SIGINT" || r.signal === "SIGTERM" || r.status === 130 || r.status === 143) {
    console.error(`bench: interrupted (${r.signal ?? `exit ${r.status}`}): stopping`);
    process.exit(130);
  }
  let rssKiB = null;
  if (HAVE_TIME && fs.existsSync(timeFile)) {
    const lines = fs.readFileSync(timeFile, "utf8").trim().split("\n");
    const last = lines[lines.length - 1].trim().split(/\s+/);
    rssKiB = Number(last[1]);
  }
  // GNU time reports "Command exited with non-zero status N" itself; r.status is the child's.
  return { wall, rssKiB, code: r.status, stderr: r.stderr?.toString().slice(-4000) ?? "" };
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function summarize(all) {
  const good = all.filter((s) => s.ok !== false);
  const samples = good.length ? good : all;
  const walls = samples.map((s) => s.wall);
  const rss = samples.map((s) => s.rssKiB).filter((x) => x != null);
  return {
    n: samples.length,
    median: median(walls),
    min: Math.min(...walls),
    max: Math.max(...walls),
    rssKiB: rss.length ? Math.max(...rss) : null,
    codes: [...new Set(samples.map((s) => s.code))],
    failed: all.length - good.length,
  };
}

const failures = [];
function expectCode(label, res, okCodes) {
  if (okCodes.includes(res.code)) return true;
  const tail = res.stderr.trim().split("\n").slice(-20).join("\n");
  failures.push({ label, code: res.code, tail });
  console.error(`  ! ${label} exited ${res.code}:\n${tail.replace(/^/gm, "    ")}`);
  return false;
}

// A run that exits with an unexpected code (e.g. dist/ being rebuilt by someone else at that
// moment) is recorded, left out of the figures, and tried once more after a pause.
function attempt(label, s, capture) {
  for (let tries = 0; ; tries++) {
    s.before?.();
    const res = runOnce(s.argv, { capture });
    const ok = expectCode(label, res, s.ok ?? [0]);
    s.after?.(res, capture);
    if (ok || tries === 1) return { ...res, ok };
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 3000);
  }
}

// A side: { argv, shown, capture?, before?(), after?(res), ok: exit codes }.
// Warm-up both (untimed), then alternate A, B, A, B… for the timed runs.
function comparePair(label, ours, ref) {
  const side = (s, capture) => attempt(`${label} ${s === ours ? "ours" : "reference"}`, s, capture);
  const wOurs = side(ours, ours.capture);
  const wRef = side(ref, ref.capture);
  const runs = wOurs.wall + wRef.wall < 1 ? RUNS_FAST : RUNS;
  const a = [];
  const b = [];
  for (let i = 0; i < runs; i++) {
    a.push(side(ours, null));
    b.push(side(ref, null));
  }
  const res = { label, ours: summarize(a), ref: summarize(b), warm: { ours: wOurs, ref: wRef } };
  log(
    `${label}: ours ${fmtS(res.ours.median)} (${fmtMB(res.ours.rssKiB)}) vs ` +
      `reference ${fmtS(res.ref.median)} (${fmtMB(res.ref.rssKiB)}): ` +
      `${fmtRatio(res.ours.median / res.ref.median)}`,
  );
  return res;
}

function measureAlone(label, s) {
  const warm = attempt(label, s, null);
  const runs = warm.wall < 1 ? RUNS_FAST : RUNS;
  const xs = [];
  for (let i = 0; i < runs; i++) xs.push(attempt(label, s, null));
  const res = { label, ours: summarize(xs), warm };
  log(`${label}: ${fmtS(res.ours.median)} (${fmtMB(res.ours.rssKiB)})`);
  return res;
}

// ---------------------------------------------------------------------------------------------
// Formatting

const fmtS = (s) => (s == null ? "n/a" : s < 10 ? `${s.toFixed(3)} s` : `${s.toFixed(2)} s`);
const fmtNum = (s) => (s < 10 ? s.toFixed(3) : s.toFixed(2));
const fmtRange = (st) =>
  st ? `${fmtNum(st.median)} s [${fmtNum(st.min)}–${fmtNum(st.max)}]` : "n/a";
const fmtMB = (kib) => (kib == null ? "n/a" : `${((kib * 1024) / 1e6).toFixed(0)} MB`);
const fmtRatio = (x) => `${x.toFixed(2)}×`;
const fmtGBs = (bytes, s) => `${(bytes / s / 1e9).toFixed(2)} GB/s`;
const fmtSize = (b) =>
  b >= GiB
    ? `${(b / GiB).toFixed(2)} GiB`
    : b >= MiB
      ? `${(b / MiB).toFixed(1)} MiB`
      : b >= KiB
        ? `${(b / KiB).toFixed(b % KiB ? 1 : 0)} KiB`
        : `${b} B`;

function table(headers, rows) {
  const line = (cells) => `| ${cells.join(" | ")} |`;
  return [line(headers), line(headers.map(() => "---")), ...rows.map(line)].join("\n");
}

// ---------------------------------------------------------------------------------------------
// The run

const images = ALL_IMAGES.filter(
  (n) => !(opts.quick && n === "sparse-8g") && (opts.images?.includes(n) ?? true),
);
const needed = new Set();
if (want("limits")) needed.add("alloc-1g");
for (const g of ["hash", "export"]) {
  if (want(g)) for (const n of ["alloc-1g", "zlib-1g", "zstd-1g", "sparse-8g"]) needed.add(n);
}
for (const g of ["check", "map"]) {
  if (want(g)) for (const n of ["meta-4m", "alloc-1g", "snap-20"]) needed.add(n);
}
if (want("info") || want("audit")) for (const n of images) needed.add(n);
const useImages = images.filter((n) => needed.has(n));

log(`bench: groups ${groups.join(", ")}; ${RUNS} timed runs (${RUNS_FAST} under 1 s)`);
log(`cache ${CACHE}, scratch ${WORK}`);
ensureImages(useImages);
const meta = Object.fromEntries(useImages.map((n) => [n, describeImage(n)]));
const ours = (...args) => [NODE, CLI, ...args];
const results = {};
const notes = [];

// Page cache: read every image once before anything is timed.
for (const n of useImages) sh("sh", ["-c", `cat '${imgPath(n)}' > /dev/null`]);

if (want("limits")) {
  const file = imgPath("alloc-1g");
  const script =
    "const fs=require('fs'),c=require('crypto');const fd=fs.openSync(process.argv[1],'r');" +
    "const b=Buffer.allocUnsafe(4<<20);const h=c.createHash('sha256');let o=0;const t=process.hrtime.bigint();" +
    "while(o<2**30){const n=fs.readSync(fd,b,0,Math.min(b.length,2**30-o),o);if(!n)break;h.update(b.subarray(0,n));o+=n}" +
    "h.digest();console.log(Number(process.hrtime.bigint()-t)/1e9)";
  const nodeSha = { argv: [NODE, "-e", script, file] };
  const dd = { argv: ["dd", `if=${file}`, "of=/dev/null", "bs=4M"] };
  const shasum = { argv: ["sha256sum", file] };
  const size = fs.statSync(file).size;
  const rows = {};
  for (const [k, s] of [
    ["nodeSha", nodeSha],
    ["dd", dd],
    ["sha256sum", shasum],
  ]) {
    rows[k] = measureAlone(`limit ${k}`, s);
  }
  // In-process time of the node:crypto loop alone (without process start), for the record.
  const inner = [];
  for (let i = 0; i < 3; i++) {
    inner.push(Number(execFileSync(NODE, ["-e", script, file], { encoding: "utf8" }).trim()));
  }
  results.limits = { rows, size, innerNodeSha: median(inner) };
}

const hashImages = ["alloc-1g", "zlib-1g", "zstd-1g", "sparse-8g"].filter((n) =>
  useImages.includes(n),
);
const digests = {};

if (want("hash")) {
  results.hash = [];
  for (const n of hashImages) {
    const img = imgPath(n);
    const tmpRaw = path.join(WORK, "tmp.raw");
    const cap = { ours: path.join(WORK, "hash-ours.txt"), ref: path.join(WORK, "hash-ref.txt") };
    const r = comparePair(
      `hash ${n}`,
      { argv: ours("hash", "--quiet", img), capture: cap.ours },
      {
        argv: ["sh", "-c", `qemu-img convert -O raw '${img}' '${tmpRaw}' && sha256sum '${tmpRaw}'`],
        capture: cap.ref,
        before: () => fs.rmSync(tmpRaw, { force: true }),
        after: () => fs.rmSync(tmpRaw, { force: true }),
      },
    );
    const hex = (f) => fs.readFileSync(f, "utf8").match(/\b[0-9a-f]{64}\b/)?.[0] ?? null;
    const a = hex(cap.ours);
    const b = hex(cap.ref);
    r.match = a !== null && a === b;
    r.digest = b;
    digests[n] = b;
    if (!r.match) notes.push(`hash ${n}: our digest ${a} differs from qemu-img's ${b}`);
    r.bytes = meta[n].virtualSize;
    results.hash.push(r);
  }
}

// Byte comparison of two files in 8 MiB blocks (`cmp` takes half a minute on 8 GiB of holes).
function sameBytes(a, b) {
  const fa = fs.openSync(a, "r");
  const fb = fs.openSync(b, "r");
  try {
    if (fs.fstatSync(fa).size !== fs.fstatSync(fb).size) return false;
    const ba = Buffer.allocUnsafe(8 * MiB);
    const bb = Buffer.allocUnsafe(8 * MiB);
    for (let off = 0; ; ) {
      const na = fs.readSync(fa, ba, 0, ba.length, off);
      const nb = fs.readSync(fb, bb, 0, bb.length, off);
      if (na !== nb) return false;
      if (na === 0) return true;
      if (!ba.subarray(0, na).equals(bb.subarray(0, nb))) return false;
      off += na;
    }
  } finally {
    fs.closeSync(fa);
    fs.closeSync(fb);
  }
}

function allocation(file) {
  const st = fs.statSync(file);
  return { size: st.size, allocated: st.blocks * 512 };
}

if (want("export")) {
  results.export = [];
  for (const n of hashImages) {
    const img = imgPath(n);
    const outOurs = path.join(WORK, "out-ours.raw");
    const outRef = path.join(WORK, "out-ref.raw");
    const rm = (f) => () => fs.rmSync(f, { force: true });
    const alloc = { ours: null, ref: null };
    let same = null;
    const r = comparePair(
      `export ${n}`,
      {
        argv: ours("export", "--quiet", img, outOurs, "--force"),
        before: rm(outOurs),
        // Keep the warm-up output for the comparison below; delete the timed ones at once so
        // no dirty page cache is carried into the next run.
        after: (_res, warm) => {
          if (fs.existsSync(outOurs)) alloc.ours = allocation(outOurs);
          if (!warm) fs.rmSync(outOurs, { force: true });
        },
        capture: path.join(WORK, "export-ours.txt"),
      },
      {
        argv: ["qemu-img", "convert", "-O", "raw", img, outRef],
        before: rm(outRef),
        after: (_res, warm) => {
          if (fs.existsSync(outRef)) alloc.ref = allocation(outRef);
          if (warm && fs.existsSync(outOurs)) {
            same = sameBytes(outOurs, outRef);
          }
          fs.rmSync(outOurs, { force: true });
          fs.rmSync(outRef, { force: true });
        },
        capture: path.join(WORK, "export-ref.txt"),
      },
    );
    r.same = same;
    r.alloc = alloc;
    r.bytes = meta[n].virtualSize;
    if (same === false) notes.push(`export ${n}: our output differs from qemu-img convert -O raw`);
    results.export.push(r);
  }
}

const metaImages = ["meta-4m", "alloc-1g", "snap-20"].filter((n) => useImages.includes(n));

if (want("check")) {
  results.check = [];
  for (const n of metaImages) {
    const img = imgPath(n);
    const r = comparePair(
      `check ${n}`,
      { argv: ours("check", img), ok: [0, 2, 3] },
      { argv: ["qemu-img", "check", img], ok: [0, 2, 3] },
    );
    r.match = r.warm.ours.code === r.warm.ref.code;
    if (!r.match) {
      notes.push(`check ${n}: exit ${r.warm.ours.code}, qemu-img check exit ${r.warm.ref.code}`);
    }
    results.check.push(r);
  }
}

if (want("map")) {
  results.map = [];
  for (const n of metaImages) {
    const img = imgPath(n);
    const cap = { ours: path.join(WORK, "map-ours.json"), ref: path.join(WORK, "map-ref.json") };
    const r = comparePair(
      `map ${n}`,
      { argv: ours("map", "--json", img), capture: cap.ours },
      { argv: ["qemu-img", "map", "--output=json", img], capture: cap.ref },
    );
    const a = fs.readFileSync(cap.ours);
    const b = fs.readFileSync(cap.ref);
    r.outputBytes = b.length;
    if (a.equals(b)) r.match = "identical";
    else {
      let same = false;
      try {
        same = JSON.stringify(JSON.parse(a)) === JSON.stringify(JSON.parse(b));
      } catch {}
      r.match = same ? "same JSON" : "DIFFERENT";
      if (!same) notes.push(`map ${n}: our --json output differs from qemu-img map`);
    }
    fs.rmSync(cap.ours);
    fs.rmSync(cap.ref);
    results.map.push(r);
  }
}

if (want("info")) {
  results.info = [];
  for (const n of useImages) {
    const img = imgPath(n);
    results.info.push(
      comparePair(
        `info ${n}`,
        { argv: ours("info", "--json", img) },
        { argv: ["qemu-img", "info", "--output=json", img] },
      ),
    );
  }
}

if (want("audit")) {
  results.audit = [];
  for (const n of useImages) {
    // Exit 1 only means a finding at or above --fail-on, which is not given here.
    results.audit.push(
      measureAlone(`audit ${n}`, { argv: ours("audit", "--quiet", imgPath(n)), ok: [0, 1] }),
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Targets

const find = (group, n) => results[group]?.find((r) => r.label === `${group} ${n}`);
const targets = [];
const target = (name, fn) => {
  try {
    const r = fn();
    targets.push({ name, ...(r ?? { status: "NOT RUN", detail: "not measured in this run" }) });
  } catch (e) {
    targets.push({ name, status: "ERROR", detail: String(e.message ?? e) });
  }
};
const verdict = (ok) => (ok ? "PASS" : "FAIL");
const MB150 = 150e6;

target(
  "hash alloc-1g: ≥ 1.0 GB/s of guest data, within 1.4× of the node:crypto SHA-256 limit, ≥ 4× faster than qemu-img convert + sha256sum",
  () => {
    const h = find("hash", "alloc-1g");
    if (!h) return null;
    const gbs = h.bytes / h.ours.median / 1e9;
    const speedup = h.ref.median / h.ours.median;
    const lim = results.limits?.rows.nodeSha.ours.median;
    const vsLimit = lim ? h.ours.median / lim : null;
    const ok = gbs >= 1.0 && speedup >= 4 && vsLimit !== null && vsLimit <= 1.4;
    return {
      status: lim ? verdict(ok) : gbs >= 1 && speedup >= 4 ? "NOT RUN" : "FAIL",
      detail:
        `${gbs.toFixed(2)} GB/s (${fmtS(h.ours.median)}); ` +
        `${vsLimit ? `${fmtRatio(vsLimit)} the node limit (${fmtS(lim)})` : "limit not measured"}; ` +
        `${fmtRatio(speedup)} faster than the reference (${fmtS(h.ref.median)})`,
    };
  },
);
for (const g of ["hash", "export"]) {
  for (const n of ["zlib-1g", "zstd-1g"]) {
    target(
      `${g} ${n}: faster than ${g === "hash" ? "qemu-img convert + sha256sum" : "qemu-img convert -O raw"}`,
      () => {
        const r = find(g, n);
        if (!r) return null;
        return {
          status: verdict(r.ours.median < r.ref.median),
          detail: `ours ${fmtS(r.ours.median)} vs ${fmtS(r.ref.median)} (${fmtRatio(r.ours.median / r.ref.median)})`,
        };
      },
    );
  }
}
target("export alloc-1g: no slower than qemu-img convert -O raw", () => {
  const r = find("export", "alloc-1g");
  if (!r) return null;
  return {
    status: verdict(r.ours.median <= r.ref.median),
    detail: `ours ${fmtS(r.ours.median)} vs ${fmtS(r.ref.median)} (${fmtRatio(r.ours.median / r.ref.median)})`,
  };
});
target("export sparse-8g: the output file is sparse", () => {
  const r = find("export", "sparse-8g");
  if (!r?.alloc.ours) return null;
  const { size, allocated } = r.alloc.ours;
  return {
    status: verdict(allocated < size / 2),
    detail:
      `${fmtSize(allocated)} allocated of ${fmtSize(size)} (qemu-img's output: ` +
      `${r.alloc.ref ? fmtSize(r.alloc.ref.allocated) : "n/a"})`,
  };
});
for (const g of ["check", "map"]) {
  target(
    `${g} meta-4m: ≤ 1.5× qemu-img's wall time (process start included), peak RSS < 3× qemu-img's`,
    () => {
      const r = find(g, "meta-4m");
      if (!r) return null;
      const t = r.ours.median / r.ref.median;
      const m = r.ours.rssKiB != null ? r.ours.rssKiB / r.ref.rssKiB : null;
      return {
        status: m == null ? "NOT RUN" : verdict(t <= 1.5 && m < 3),
        detail:
          `wall ${fmtS(r.ours.median)} vs ${fmtS(r.ref.median)} (${fmtRatio(t)}); ` +
          `RSS ${fmtMB(r.ours.rssKiB)} vs ${fmtMB(r.ref.rssKiB)} (${m == null ? "n/a" : fmtRatio(m)})`,
      };
    },
  );
}
for (const n of images) {
  target(`audit ${n}: < 1 s and peak RSS < 150 MB`, () => {
    const r = find("audit", n);
    if (!r) return null;
    const rssB = r.ours.rssKiB == null ? null : r.ours.rssKiB * 1024;
    return {
      status: rssB == null ? "NOT RUN" : verdict(r.ours.median < 1 && rssB < MB150),
      detail: `${fmtS(r.ours.median)} [${fmtNum(r.ours.min)}–${fmtNum(r.ours.max)}], ${fmtMB(r.ours.rssKiB)}`,
    };
  });
}

// ---------------------------------------------------------------------------------------------
// Report

function cpuModel() {
  try {
    const m = fs.readFileSync("/proc/cpuinfo", "utf8").match(/^model name\s*:\s*(.*)$/m);
    if (m) return m[1].trim();
  } catch {}
  return os.cpus()[0]?.model ?? "unknown";
}

function fsType(dir) {
  const r = spawnSync("stat", ["-f", "-c", "%T", dir], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : "unknown";
}

function gitState() {
  const git = (...a) => spawnSync("git", ["-C", REPO, ...a], { encoding: "utf8" });
  const head = git("rev-parse", "--short", "HEAD");
  if (head.status !== 0) return "unknown (not a git checkout)";
  const dirty = git("status", "--porcelain", "--", "packages", "apps").stdout.trim();
  return `${head.stdout.trim()}${dirty ? " + uncommitted changes in packages/ or apps/ (the CLI was built from the working tree)" : ""}`;
}

const total = elapsed();
const rebuiltDuring = buildFingerprint() !== BUILD_AT_START;
if (rebuiltDuring) {
  console.error("bench: WARNING: the CLI or a package was rebuilt while the bench ran");
}
const md = [];
md.push("# qcow2-forensic performance bench", "");
md.push(
  partial ? `Partial run: \`node bench/run.mjs ${process.argv.slice(2).join(" ")}\`.` : "Full run.",
  "",
);
md.push("Reproduce (from the repository root; builds the CLI first):", "");
md.push("```sh", "npx --yes pnpm@10.34.8 bench", "```", "");
md.push(
  "Flags (`node bench/run.mjs …`, or `npx --yes pnpm@10.34.8 --filter @x/bench bench -- …`): `--quick` (3 runs, no 8 GiB image), " +
    "`--only <group>[,<group>]` (" +
    GROUPS.join(", ") +
    "), `--images <image>[,<image>]`, `--rebuild` (regenerate the cached images), `--runs N`, `--out FILE`.",
  "",
);
md.push("## Machine", "");
md.push(
  table(
    ["what", "value"],
    [
      ["date", new Date().toISOString()],
      ["measured code", gitState()],
      [
        "CLI measured",
        CLI_RUN.snapshot
          ? `a copy of apps/cli/dist taken at the start (${CLI_RUN.files.join(", ")}; cli.js sha256 ${CLI_RUN.sha}…)`
          : `apps/cli/dist in place (cli.js sha256 ${CLI_RUN.sha}…)` +
            (CLI_RUN.bare.length ? `: the bundle imports ${CLI_RUN.bare.join(", ")}` : ""),
      ],
      [
        "build during the run",
        !rebuiltDuring
          ? "unchanged from start to end"
          : CLI_RUN.snapshot
            ? "dist/ was rebuilt while the bench ran (the copy measured was not affected)"
            : "**rebuilt while the bench ran** (dist/ changed): figures may mix two builds",
      ],
      ["CPU", cpuModel()],
      ["cores", String(os.cpus().length)],
      ["RAM", `${(os.totalmem() / GiB).toFixed(1)} GiB`],
      ["kernel", `${os.type()} ${os.release()}`],
      ["Node", process.version],
      ["qemu-img", QEMU_VERSION],
      ["scratch and image filesystem", `${fsType(TMP)} (${TMP})`],
      ["bench wall time", `${(total / 60).toFixed(1)} min (image build included when not cached)`],
    ],
  ),
  "",
);
md.push("## Method", "");
md.push(
  `- Each command gets one untimed warm-up, then ${RUNS} timed runs (${RUNS_FAST} for commands whose warm-up took under 1 s), ` +
    "ours and the reference alternating (A, B, A, B, …) in the same run. Every image is read once into the page cache first: all figures are page-cache warm.",
  "- Wall time: the median [min–max] of the runs, measured around the spawn (process start included). " +
    "Peak RSS: the largest `%M` of GNU `/usr/bin/time -f '%e %M'` over the runs; for a `sh -c 'a && b'` pair that is the largest single process of the pair, not their sum.",
  "- Ratio: ours ÷ reference wall time (below 1 is faster). GB/s: guest (virtual) bytes ÷ wall time, GB = 10⁹ bytes; MB = 10⁶ bytes.",
  "- `sync` runs (untimed) before every run, and raw outputs are deleted right after each run, so no writeback from an earlier run is billed to the next.",
  "- Standard output goes to /dev/null in the timed runs; the warm-up outputs are kept to compare results (hash digests, exported bytes compared block by block, map JSON, check exit codes).",
  `- Ours is \`${CLI_SHOWN}\` run with ${process.version}` +
    (CLI_RUN.snapshot
      ? " (from a copy of the self-contained bundle taken at the start, so a rebuild while the bench runs does not touch it)."
      : ".") +
    ` Exported and converted raw files are written to the scratch folder and deleted after each run.`,
  "",
);

md.push("## Images", "");
md.push(
  `Built by the script into \`$TMPDIR/qcow2-bench-cache\` (key \`${IMAGES_VERSION}\`), reused by later runs.`,
  "",
);
const imageDesc = {
  "alloc-1g": "1 GiB of /dev/urandom, every cluster allocated",
  "zlib-1g": "1 GiB of mixed text/binary/zero data, `convert -c` (zlib)",
  "zstd-1g": "the same data, `convert -c -o compression_type=zstd`",
  "sparse-8g": "8 GiB virtual, ~10% written in ~1000 scattered extents",
  "meta-4m": "16 GiB virtual, 4 KiB clusters, one 4 KiB block every 64 KiB (8192 L2 tables)",
  "snap-20": "256 MiB, 64 MiB of data, 20 internal snapshots with writes between",
};
md.push(
  table(
    [
      "image",
      "content",
      "virtual",
      "file",
      "cluster",
      "clusters allocated / total (qemu-img check)",
      "snapshots",
    ],
    useImages.map((n) => {
      const m = meta[n];
      return [
        n,
        imageDesc[n],
        fmtSize(m.virtualSize),
        fmtSize(m.fileSize),
        fmtSize(m.clusterSize),
        `${m.allocatedClusters ?? "?"} / ${m.totalClusters ?? "?"}` +
          (m.compressedClusters ? ` (${m.compressedClusters} compressed)` : ""),
        String(m.snapshots),
      ];
    }),
  ),
  "",
);

if (results.limits) {
  const L = results.limits;
  md.push("## Machine limits", "");
  md.push(
    `Measured in the same run on alloc-1g.qcow2 (page cache warm); the node:crypto loop hashes its first 1 GiB in 4 MiB \`readSync\` blocks (${fmtGBs(GiB, L.innerNodeSha)} inside the process, start excluded).`,
    "",
  );
  const row = (name, r, bytes) => [
    name,
    fmtRange(r.ours),
    fmtGBs(bytes, r.ours.median),
    fmtMB(r.ours.rssKiB),
  ];
  md.push(
    table(
      ["command", "wall median [min–max]", "throughput", "peak RSS"],
      [
        row("node -e (node:crypto SHA-256, 4 MiB reads, 1 GiB)", L.rows.nodeSha, GiB),
        row("dd if=alloc-1g.qcow2 of=/dev/null bs=4M (page-cache read)", L.rows.dd, L.size),
        row("sha256sum alloc-1g.qcow2 (coreutils)", L.rows.sha256sum, L.size),
      ],
    ),
    "",
  );
}

function pairTable(title, caption, list, { refName, extra = [] } = {}) {
  if (!list?.length) return;
  md.push(`## ${title}`, "");
  if (caption) md.push(caption, "");
  md.push(
    table(
      [
        "command",
        "image",
        "ours median [min–max]",
        "reference median [min–max]",
        "ratio",
        "our peak RSS",
        "reference peak RSS",
        ...extra.map((e) => e.head),
      ],
      list.map((r) => [
        `\`${r.label.split(" ")[0]}\` vs ${refName}`,
        r.label.split(" ")[1],
        fmtRange(r.ours),
        fmtRange(r.ref),
        fmtRatio(r.ours.median / r.ref.median),
        fmtMB(r.ours.rssKiB),
        fmtMB(r.ref.rssKiB),
        ...extra.map((e) => e.cell(r)),
      ]),
    ),
    "",
  );
}

const gbsCols = [
  { head: "ours GB/s", cell: (r) => fmtGBs(r.bytes, r.ours.median) },
  { head: "reference GB/s", cell: (r) => fmtGBs(r.bytes, r.ref.median) },
];
pairTable(
  "Guest SHA-256",
  `Ours: \`${CLI_SHOWN} hash --quiet IMG\`. Reference: \`sh -c 'qemu-img convert -O raw IMG tmp.raw && sha256sum tmp.raw'\`.`,
  results.hash,
  {
    refName: "convert + sha256sum",
    extra: [...gbsCols, { head: "same digest", cell: (r) => (r.match ? "yes" : "**NO**") }],
  },
);
pairTable(
  "Export to raw",
  `Ours: \`${CLI_SHOWN} export --quiet IMG out.raw --force\`. Reference: \`qemu-img convert -O raw IMG out.raw\`. ` +
    "Allocated = `st_blocks × 512` of the output right after the run (what `du` shows).",
  results.export,
  {
    refName: "`qemu-img convert -O raw`",
    extra: [
      ...gbsCols,
      {
        head: "our output allocated / size",
        cell: (r) =>
          r.alloc.ours
            ? `${fmtSize(r.alloc.ours.allocated)} / ${fmtSize(r.alloc.ours.size)}`
            : "n/a",
      },
      {
        head: "qemu-img output allocated",
        cell: (r) => (r.alloc.ref ? fmtSize(r.alloc.ref.allocated) : "n/a"),
      },
      {
        head: "same bytes",
        cell: (r) => (r.same == null ? "n/a" : r.same ? "yes" : "**NO**"),
      },
    ],
  },
);
pairTable(
  "Check",
  `Ours: \`${CLI_SHOWN} check IMG\`. Reference: \`qemu-img check IMG\`.`,
  results.check,
  {
    refName: "`qemu-img check`",
    extra: [
      { head: "same exit code", cell: (r) => (r.match ? `yes (${r.warm.ref.code})` : "**NO**") },
    ],
  },
);
pairTable(
  "Map",
  `Ours: \`${CLI_SHOWN} map --json IMG\`. Reference: \`qemu-img map --output=json IMG\`.`,
  results.map,
  {
    refName: "`qemu-img map --output=json`",
    extra: [{ head: "output", cell: (r) => `${fmtSize(r.outputBytes)}, ${r.match}` }],
  },
);
pairTable(
  "Info",
  `Ours: \`${CLI_SHOWN} info --json IMG\`. Reference: \`qemu-img info --output=json IMG\`.`,
  results.info,
  { refName: "`qemu-img info --output=json`" },
);
if (results.audit?.length) {
  md.push("## Audit (ours only)", "");
  md.push(`\`${CLI_SHOWN} audit --quiet IMG\` (text report to /dev/null).`, "");
  md.push(
    table(
      ["command", "image", "wall median [min–max]", "peak RSS"],
      results.audit.map((r) => [
        "`audit`",
        r.label.split(" ")[1],
        fmtRange(r.ours),
        fmtMB(r.ours.rssKiB),
      ]),
    ),
    "",
  );
}

const noisy = [];
for (const g of ["hash", "export", "check", "map", "info", "audit"]) {
  for (const r of results[g] ?? []) {
    for (const [who, st] of [
      ["ours", r.ours],
      ["reference", r.ref],
    ]) {
      if (st && st.max > 1.5 * st.min && st.max - st.min > 0.05) {
        noisy.push(`${r.label} (${who}): ${fmtNum(st.min)}–${fmtNum(st.max)} s`);
      }
    }
  }
}
if (noisy.length) {
  md.push("## Noisy measurements", "");
  md.push(
    "Runs whose slowest took over 1.5× the fastest (and over 50 ms more): read their medians with care.",
    "",
  );
  md.push(...noisy.map((n) => `- ${n}`), "");
}

md.push("## Targets", "");
md.push("Computed by `bench/run.mjs` from the medians above.", "");
md.push(
  table(
    ["target", "result", "measured"],
    targets.map((t) => [t.name, `**${t.status}**`, t.detail]),
  ),
  "",
);
if (notes.length) {
  md.push("## Result mismatches", "", ...notes.map((n) => `- ${n}`), "");
}
if (failures.length) {
  md.push("## Command failures", "");
  md.push(
    "Runs that exited with an unexpected code are left out of the figures; each was tried once more after 3 s.",
    "",
  );
  for (const f of failures) {
    md.push(
      `- ${f.label} exited ${f.code}:`,
      "",
      "  ```",
      ...f.tail.split("\n").map((l) => `  ${l}`),
      "  ```",
      "",
    );
  }
}
md.push("## Profile notes", "");
const NOTES = path.join(BENCH_DIR, "profile-notes.md");
md.push(
  fs.existsSync(NOTES)
    ? fs.readFileSync(NOTES, "utf8").trim()
    : "_For the engineers: findings from profiles go here (bench/profile-notes.md)._",
  "",
  "Profile one command with V8's sampling profiler, then open the `.cpuprofile` in Chrome DevTools (Performance tab) or VS Code: " +
    "`node --cpu-prof --cpu-prof-dir=/tmp/prof apps/cli/dist/cli.js hash --quiet $TMPDIR/qcow2-bench-cache/zstd-1g.qcow2` " +
    "(the bench images stay in `$TMPDIR/qcow2-bench-cache`, `/tmp` when TMPDIR is unset; add `--heap-prof` for memory).",
  "",
);

fs.writeFileSync(OUT, md.join("\n"));
log(`wrote ${path.relative(process.cwd(), OUT) || OUT}`);
console.log("");
for (const t of targets) console.log(`${t.status.padEnd(7)} ${t.name}\n        ${t.detail}`);
console.log(`\nbench: done in ${(elapsed() / 60).toFixed(1)} min`);
