// The run's context: everything a group reads or calls, in one object (see bench/README.md).
import {
  buildFingerprint,
  CLI_SHOWN,
  checkPrerequisites,
  claimScratch,
  REPO,
  snapshotCli,
  TMP,
} from "./environment.mjs";
import { CACHE, describeImage, ensureImages, imgPath, sh } from "./images.mjs";
import { createMeasure } from "./measure.mjs";
import { parseOptions } from "./options.mjs";
import { STANDARD_RECIPES } from "./recipes.mjs";

/** Every image recipe by name, in report order: the standard set, then the groups' own. */
function imageRecipes(groups) {
  const recipes = new Map();
  for (const r of [...STANDARD_RECIPES, ...groups.flatMap((g) => g.recipes ?? [])]) {
    if (recipes.has(r.name)) throw new Error(`bench: two image recipes are named "${r.name}"`);
    recipes.set(r.name, r);
  }
  return recipes;
}

/**
 * Parses the flags, checks the machine, takes the lock and the scratch folder, and snapshots
 * the CLI. Exits on --help, a bad flag or a missing prerequisite.
 */
export function createContext(groups, argv) {
  const recipes = imageRecipes(groups);
  const opts = parseOptions(argv, {
    groups: groups.map((g) => g.name),
    images: [...recipes.keys()],
  });
  const { haveTime, qemuVersion } = checkPrerequisites();
  const work = claimScratch();
  const buildAtStart = buildFingerprint();
  const cliRun = snapshotCli(work);

  const t0 = process.hrtime.bigint();
  const elapsed = () => Number(process.hrtime.bigint() - t0) / 1e9;
  const log = (s) => console.log(`[${elapsed().toFixed(0).padStart(4)} s] ${s}`);

  // Images this run may use: not left out by --quick or --images.
  const available = [...recipes.values()]
    .filter((r) => !(opts.quick && r.skipInQuick) && (opts.images?.includes(r.name) ?? true))
    .map((r) => r.name);
  const measure = createMeasure({
    runs: opts.runs,
    runsFast: opts.runsFast,
    work,
    haveTime,
    cwd: REPO,
    log,
  });

  const ctx = {
    opts,
    allGroups: groups,
    groups: opts.only ? groups.filter((g) => opts.only.includes(g.name)) : groups,
    log,
    elapsed,
    // Machine and build
    qemuVersion,
    haveTime,
    tmp: TMP,
    cache: CACHE,
    work,
    buildAtStart,
    cliRun,
    cliShown: CLI_SHOWN,
    node: process.execPath,
    ours: (...args) => [process.execPath, cliRun.cli, ...args],
    // Images
    recipes,
    standardImages: STANDARD_RECIPES.map((r) => r.name),
    available,
    useImages: [],
    meta: {},
    imgPath,
    allowed: (names) => names.filter((n) => available.includes(n)),
    inRun: (names) => names.filter((n) => ctx.useImages.includes(n)),
    // Measuring and results
    comparePair: measure.comparePair,
    measureAlone: measure.measureAlone,
    failures: measure.failures,
    results: {},
    notes: [],
    find: (group, n) => ctx.results[group]?.find?.((r) => r.label === `${group} ${n}`),
  };
  return ctx;
}

/**
 * Builds (or finds in the cache) the images the selected groups ask for, describes them, and
 * reads each once so every figure is page-cache warm.
 */
export function prepareImages(ctx) {
  const needed = new Set(ctx.groups.flatMap((g) => g.images?.(ctx) ?? []));
  ctx.useImages = ctx.available.filter((n) => needed.has(n));
  ensureImages(ctx.recipes, ctx.useImages, {
    rebuild: ctx.opts.rebuild,
    qemuVersion: ctx.qemuVersion,
    log: ctx.log,
  });
  ctx.meta = Object.fromEntries(ctx.useImages.map((n) => [n, describeImage(n)]));
  for (const n of ctx.useImages) sh("sh", ["-c", `cat '${imgPath(n)}' > /dev/null`]);
}

/** At the end: did anyone rebuild the CLI or a package while we measured? */
export function rebuiltDuringRun(ctx) {
  return buildFingerprint() !== ctx.buildAtStart;
}
