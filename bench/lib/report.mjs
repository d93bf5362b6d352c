// The results file: how it was measured (machine, method, images), each group's section in
// group order, then the run-wide parts (noisy runs, targets, mismatches, failures, profile notes).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { BENCH_DIR, cpuModel, fsType, gitState } from "./environment.mjs";
import { fmtNum, fmtSize, table } from "./format.mjs";
import { IMAGES_VERSION } from "./images.mjs";
import { GiB } from "./units.mjs";

function header(ctx, md) {
  md.push("# qcow2-forensic performance bench", "");
  md.push(
    ctx.opts.partial
      ? `Partial run: \`node bench/run.mjs ${ctx.opts.argv.join(" ")}\`.`
      : "Full run.",
    "",
  );
  md.push("Reproduce (from the repository root; builds the CLI first):", "");
  md.push("```sh", "npx --yes pnpm@10.34.8 bench", "```", "");
  md.push(
    "Flags (`node bench/run.mjs …`, or `npx --yes pnpm@10.34.8 --filter @x/bench bench -- …`): `--quick` (3 runs, no 8 GiB image), " +
      "`--only <group>[,<group>]` (" +
      ctx.allGroups.map((g) => g.name).join(", ") +
      "), `--images <image>[,<image>]`, `--rebuild` (regenerate the cached images), `--runs N`, `--out FILE`.",
    "",
  );
}

function machine(ctx, md, { total, rebuiltDuring }) {
  const cli = ctx.cliRun;
  md.push("## Machine", "");
  md.push(
    table(
      ["what", "value"],
      [
        ["date", new Date().toISOString()],
        ["measured code", gitState()],
        [
          "CLI measured",
          cli.snapshot
            ? `a copy of apps/cli/dist taken at the start (${cli.files.join(", ")}; cli.js sha256 ${cli.sha}…)`
            : `apps/cli/dist in place (cli.js sha256 ${cli.sha}…)` +
              (cli.bare.length ? `: the bundle imports ${cli.bare.join(", ")}` : ""),
        ],
        [
          "build during the run",
          !rebuiltDuring
            ? "unchanged from start to end"
            : cli.snapshot
              ? "dist/ was rebuilt while the bench ran (the copy measured was not affected)"
              : "**rebuilt while the bench ran** (dist/ changed): figures may mix two builds",
        ],
        ["CPU", cpuModel()],
        ["cores", String(os.cpus().length)],
        ["RAM", `${(os.totalmem() / GiB).toFixed(1)} GiB`],
        ["kernel", `${os.type()} ${os.release()}`],
        ["Node", process.version],
        ["qemu-img", ctx.qemuVersion],
        ["scratch and image filesystem", `${fsType(ctx.tmp)} (${ctx.tmp})`],
        [
          "bench wall time",
          `${(total / 60).toFixed(1)} min (image build included when not cached)`,
        ],
      ],
    ),
    "",
  );
}

function method(ctx, md) {
  const { runs, runsFast } = ctx.opts;
  md.push("## Method", "");
  md.push(
    `- Each command gets one untimed warm-up, then ${runs} timed runs (${runsFast} for commands whose warm-up took under 1 s), ` +
      "ours and the reference alternating (A, B, A, B, …) in the same run. Every image is read once into the page cache first: all figures are page-cache warm. " +
      "Likewise the CLI's code cache (V8's compiled code of each bundle, kept in `~/.cache/qcow2-forensic` after a bundle's first run, as for any user who runs the tool twice) is warm after the warm-up.",
    "- Wall time: the median [min–max] of the runs, measured around the spawn (process start included). " +
      "Peak RSS: the largest `%M` of GNU `/usr/bin/time -f '%e %M'` over the runs; for a `sh -c 'a && b'` pair that is the largest single process of the pair, not their sum.",
    "- Ratio: ours ÷ reference wall time (below 1 is faster). GB/s: guest (virtual) bytes ÷ wall time, GB = 10⁹ bytes; MB = 10⁶ bytes.",
    "- `sync` runs (untimed) before every run, and raw outputs are deleted right after each run, so no writeback from an earlier run is billed to the next.",
    "- Standard output goes to /dev/null in the timed runs; the warm-up outputs are kept to compare results (hash digests, exported bytes compared block by block, map JSON, check exit codes).",
    `- Ours is \`${ctx.cliShown}\` run with ${process.version}` +
      (ctx.cliRun.snapshot
        ? " (from a copy of the self-contained bundle taken at the start, so a rebuild while the bench runs does not touch it)."
        : ".") +
      ` Exported and converted raw files are written to the scratch folder and deleted after each run.`,
    "",
  );
}

function images(ctx, md) {
  md.push("## Images", "");
  md.push(
    `Built by the script into \`$TMPDIR/qcow2-bench-cache\` (key \`${IMAGES_VERSION}\`), reused by later runs.`,
    "",
  );
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
      ctx.useImages.map((n) => {
        const m = ctx.meta[n];
        return [
          n,
          ctx.recipes.get(n).content,
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
}

// Rows of every group that returned timed rows ({ label, ours, ref? } from the measure module).
function noisy(ctx, md) {
  const lines = [];
  for (const g of ctx.allGroups) {
    const rows = ctx.results[g.name];
    if (!Array.isArray(rows)) continue;
    for (const r of rows) {
      for (const [who, st] of [
        ["ours", r.ours],
        ["reference", r.ref],
      ]) {
        if (st && st.max > 1.5 * st.min && st.max - st.min > 0.05) {
          lines.push(`${r.label} (${who}): ${fmtNum(st.min)}–${fmtNum(st.max)} s`);
        }
      }
    }
  }
  if (!lines.length) return;
  md.push("## Noisy measurements", "");
  md.push(
    "Runs whose slowest took over 1.5× the fastest (and over 50 ms more): read their medians with care.",
    "",
  );
  md.push(...lines.map((n) => `- ${n}`), "");
}

function targetsSection(md, targets) {
  md.push("## Targets", "");
  md.push("Computed by `bench/run.mjs` from the medians above.", "");
  md.push(
    table(
      ["target", "result", "measured"],
      targets.map((t) => [t.name, `**${t.status}**`, t.detail]),
    ),
    "",
  );
}

function mismatchesAndFailures(ctx, md) {
  if (ctx.notes.length) {
    md.push("## Result mismatches", "", ...ctx.notes.map((n) => `- ${n}`), "");
  }
  if (ctx.failures.length) {
    md.push("## Command failures", "");
    md.push(
      "Runs that exited with an unexpected code are left out of the figures; each was tried once more after 3 s.",
      "",
    );
    for (const f of ctx.failures) {
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
}

function profileNotes(md) {
  md.push("## Profile notes", "");
  const notes = path.join(BENCH_DIR, "profile-notes.md");
  md.push(
    fs.existsSync(notes)
      ? fs.readFileSync(notes, "utf8").trim()
      : "_For the engineers: findings from profiles go here (bench/profile-notes.md)._",
    "",
    "Profile one command with V8's sampling profiler, then open the `.cpuprofile` in Chrome DevTools (Performance tab) or VS Code: " +
      "`node --cpu-prof --cpu-prof-dir=/tmp/prof apps/cli/dist/cli.js hash --quiet $TMPDIR/qcow2-bench-cache/zstd-1g.qcow2` " +
      "(the bench images stay in `$TMPDIR/qcow2-bench-cache`, `/tmp` when TMPDIR is unset; add `--heap-prof` for memory).",
    "",
  );
}

/** The whole results file as markdown. `end` is { total: seconds, rebuiltDuring }. */
export function renderReport(ctx, targets, end) {
  const md = [];
  header(ctx, md);
  machine(ctx, md, end);
  method(ctx, md);
  images(ctx, md);
  for (const g of ctx.allGroups) {
    if (ctx.results[g.name] !== undefined) g.report?.(ctx, md);
  }
  noisy(ctx, md);
  targetsSection(md, targets);
  mismatchesAndFailures(ctx, md);
  profileNotes(md);
  return md.join("\n");
}
