// Timing: each command runs as its own process, wall time around the spawn, peak RSS from GNU
// time; ours and the reference alternate in the same run so both see the same machine.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { GNU_TIME } from "./environment.mjs";
import { fmtMB, fmtRatio, fmtS } from "./format.mjs";
import { MiB } from "./units.mjs";

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Runs that failed are left out of the figures (unless every run failed). */
export function summarize(all) {
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

const pause = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/**
 * The timing functions of one run. A side (what runs) is
 * { argv, ok?: exit codes (default [0]), capture?: file for the warm-up's stdout,
 *   before?(), after?(res, capture) }.
 * Results are { label, ours: summary, ref?: summary, warm }, a summary being
 * { n, median, min, max, rssKiB, codes, failed } in seconds and KiB.
 */
export function createMeasure({ runs, runsFast, work, haveTime, cwd, log }) {
  const devnull = fs.openSync("/dev/null", "w");
  const failures = [];

  // One run: wall from hrtime around the spawn (GNU time's %e has only 10 ms resolution), peak
  // RSS from GNU time's %M (KiB; for `sh -c 'a && b'` it is the largest process of the tree).
  function runOnce(argv, { capture = null } = {}) {
    // Flush what earlier runs wrote (their outputs are deleted already), so no writeback of a
    // previous run lands in this one.
    spawnSync("sync");
    const timeFile = path.join(work, "time.out");
    const full = haveTime ? [GNU_TIME, "-f", "%e %M", "-o", timeFile, ...argv] : argv;
    fs.rmSync(timeFile, { force: true });
    const outFd = capture ? fs.openSync(capture, "w") : devnull;
    const start = process.hrtime.bigint();
    const r = spawnSync(full[0], full.slice(1), {
      stdio: ["ignore", outFd, "pipe"],
      maxBuffer: 256 * MiB,
      cwd,
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
    if (haveTime && fs.existsSync(timeFile)) {
      const lines = fs.readFileSync(timeFile, "utf8").trim().split("\n");
      const last = lines[lines.length - 1].trim().split(/\s+/);
      rssKiB = Number(last[1]);
    }
    // GNU time reports "Command exited with non-zero status N" itself; r.status is the child's.
    return { wall, rssKiB, code: r.status, stderr: r.stderr?.toString().slice(-4000) ?? "" };
  }

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
      pause(3000);
    }
  }

  /** Warm-up both sides (untimed), then alternate A, B, A, B… for the timed runs. */
  function comparePair(label, ours, ref) {
    const side = (s, capture) =>
      attempt(`${label} ${s === ours ? "ours" : "reference"}`, s, capture);
    const wOurs = side(ours, ours.capture);
    const wRef = side(ref, ref.capture);
    const n = wOurs.wall + wRef.wall < 1 ? runsFast : runs;
    const a = [];
    const b = [];
    for (let i = 0; i < n; i++) {
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

  /** One command with nothing to compare against (ours only, or a machine limit). */
  function measureAlone(label, s) {
    const warm = attempt(label, s, s.capture ?? null);
    const n = warm.wall < 1 ? runsFast : runs;
    const xs = [];
    for (let i = 0; i < n; i++) xs.push(attempt(label, s, null));
    const res = { label, ours: summarize(xs), warm };
    log(`${label}: ${fmtS(res.ours.median)} (${fmtMB(res.ours.rssKiB)})`);
    return res;
  }

  return { comparePair, measureAlone, failures };
}
