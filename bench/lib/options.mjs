// Command-line flags. The group and image names come from their registries, so a new group or
// image is a valid --only / --images value without touching this file.
import path from "node:path";
import { BENCH_DIR } from "./environment.mjs";

function usage(code, { groups, images }) {
  console.log(`usage: node bench/run.mjs [--quick] [--only <group>[,<group>…]] [--images <image>[,…]] [--rebuild] [--runs N] [--out FILE]

  --quick        3 timed runs per command and no 8 GiB image (sparse-8g)
  --only LIST    run only these groups: ${groups.join(", ")}
  --images LIST  use only these images: ${images.join(", ")}
  --rebuild      regenerate the cached images
  --runs N       timed runs per command (default 5; commands under 1 s get 4 more)
  --out FILE     where to write the report (default bench/results.md for a full run,
                 bench/results.partial.md for --quick or --only)`);
  process.exit(code);
}

/**
 * Parses argv against the known group and image names; prints usage and exits on --help or a
 * bad flag. `runs`/`runsFast` are the timed runs per command (under 1 s / otherwise), `partial`
 * says the run was narrowed (its report is not the full table), `out` is the report's path.
 */
export function parseOptions(argv, known) {
  const o = { quick: false, only: null, images: null, rebuild: false, runs: null, out: null };
  const list = (v) =>
    v
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = a.includes("=") ? a.slice(a.indexOf("=") + 1) : argv[++i];
      if (v === undefined) {
        console.error(`${a} needs a value`);
        usage(2, known);
      }
      return v;
    };
    if (a === "--quick") o.quick = true;
    else if (a === "--rebuild") o.rebuild = true;
    else if (a === "--only" || a.startsWith("--only=")) {
      o.only = list(value());
      for (const g of o.only) {
        if (!known.groups.includes(g)) {
          console.error(`unknown group "${g}" (groups: ${known.groups.join(", ")})`);
          usage(2, known);
        }
      }
    } else if (a === "--images" || a.startsWith("--images=")) {
      o.images = list(value());
      for (const n of o.images) {
        if (!known.images.includes(n)) {
          console.error(`unknown image "${n}" (images: ${known.images.join(", ")})`);
          usage(2, known);
        }
      }
    } else if (a === "--runs" || a.startsWith("--runs=")) {
      o.runs = Number.parseInt(value(), 10);
      if (!(o.runs >= 1)) usage(2, known);
    } else if (a === "--out" || a.startsWith("--out=")) o.out = path.resolve(value());
    else if (a === "-h" || a === "--help") usage(0, known);
    else {
      console.error(`unknown argument ${a}`);
      usage(2, known);
    }
  }
  const runs = o.runs ?? (o.quick ? 3 : 5);
  const partial = o.quick || o.only !== null || o.images !== null || o.runs !== null;
  return {
    ...o,
    argv,
    runs,
    runsFast: o.runs ?? (o.quick ? 3 : runs + 4),
    partial,
    out: o.out ?? path.join(BENCH_DIR, partial ? "results.partial.md" : "results.md"),
  };
}
