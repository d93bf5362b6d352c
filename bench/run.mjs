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
// The groups are in groups/, the machinery in lib/; README.md says how to add a group.

import fs from "node:fs";
import path from "node:path";
import { GROUPS } from "./groups/index.mjs";
import { createContext, prepareImages, rebuiltDuringRun } from "./lib/context.mjs";
import { renderReport } from "./lib/report.mjs";
import { collectTargets } from "./lib/targets.mjs";

const ctx = createContext(GROUPS, process.argv.slice(2));
const { opts, log } = ctx;
log(
  `bench: groups ${(opts.only ?? GROUPS.map((g) => g.name)).join(", ")}; ` +
    `${opts.runs} timed runs (${opts.runsFast} under 1 s)`,
);
log(`cache ${ctx.cache}, scratch ${ctx.work}`);
prepareImages(ctx);

for (const group of ctx.groups) ctx.results[group.name] = group.run(ctx);

// Every group's targets, selected or not: the ones not measured read NOT RUN.
const targets = collectTargets(GROUPS, ctx);
const total = ctx.elapsed();
const rebuiltDuring = rebuiltDuringRun(ctx);
if (rebuiltDuring) {
  console.error("bench: WARNING: the CLI or a package was rebuilt while the bench ran");
}
fs.writeFileSync(opts.out, renderReport(ctx, targets, { total, rebuiltDuring }));
log(`wrote ${path.relative(process.cwd(), opts.out) || opts.out}`);
console.log("");
for (const t of targets) console.log(`${t.status.padEnd(7)} ${t.name}\n        ${t.detail}`);
console.log(`\nbench: done in ${(ctx.elapsed() / 60).toFixed(1)} min`);
