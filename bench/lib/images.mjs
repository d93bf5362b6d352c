// The image cache ($TMPDIR/qcow2-bench-cache): builds what a run needs from its recipe, once,
// and describes each image as qemu-img sees it.
//
// A recipe is { name, content, build(out, kit), skipInQuick?, version? }:
//   content       one line for the report's Images table
//   build         writes the image to `out` (see `kit` below); throws on failure
//   skipInQuick   left out of --quick runs (the 8 GiB image)
//   version       bump when this recipe changes: its cached image is rebuilt, the others stay
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { TMP } from "./environment.mjs";
import { MiB } from "./units.mjs";

// Bump when a shared recipe changes: every cached image with another key is rebuilt.
export const IMAGES_VERSION = "qcow2-bench-images-v1";
export const CACHE = path.join(TMP, "qcow2-bench-cache");

/** Runs a command to completion; throws with its stderr when it fails. Returns stdout. */
export function sh(cmd, args, quiet = true) {
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

export const imgPath = (name) => path.join(CACHE, `${name}.qcow2`);
const stampPath = (name) => path.join(CACHE, `${name}.stamp`);
const cacheKey = (recipe) =>
  recipe.version ? `${IMAGES_VERSION}/${recipe.version}` : IMAGES_VERSION;

function isCached(recipe) {
  try {
    return (
      fs.existsSync(imgPath(recipe.name)) &&
      JSON.parse(fs.readFileSync(stampPath(recipe.name), "utf8")).version === cacheKey(recipe)
    );
  } catch {
    return false;
  }
}

/**
 * Builds the images among `names` that are not cached under their key. Each build gets a kit:
 *   kit.dir                    the cache folder, for a recipe's temporary raw files
 *   kit.sh(cmd, args)          runs a tool (qemu-img, qemu-io), throws when it fails
 *   kit.shared(file, write)    a raw file that several recipes convert from (e.g. the same
 *                              data compressed two ways): written once by write(path), deleted
 *                              when this call ends
 */
export function ensureImages(recipes, names, { rebuild, qemuVersion, log }) {
  fs.mkdirSync(CACHE, { recursive: true });
  const shared = new Map();
  const kit = {
    dir: CACHE,
    sh,
    shared(file, write) {
      const p = path.join(CACHE, file);
      if (!shared.has(p)) {
        write(p);
        shared.set(p, true);
      }
      return p;
    },
  };
  try {
    for (const name of names) {
      const recipe = recipes.get(name);
      if (!rebuild && isCached(recipe)) {
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
      recipe.build(tmp, kit);
      fs.renameSync(tmp, out);
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      fs.writeFileSync(
        stampPath(name),
        JSON.stringify({ version: cacheKey(recipe), qemu: qemuVersion, seconds }),
      );
      log(`image ${name}: built in ${seconds.toFixed(1)} s`);
    }
  } finally {
    for (const p of shared.keys()) fs.rmSync(p, { force: true });
  }
}

/** The image as qemu-img reports it (info and check), for the Images table and the groups. */
export function describeImage(name) {
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
