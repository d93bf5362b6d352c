// Diff: our `diff --metadata-only` against our own `map --json` on the same image (QEMU has no
// diff; map walks the same metadata once), and what an exact `diff` reads against what changed.
import fs from "node:fs";
import path from "node:path";
import { rng, writeMetaRaw } from "../lib/data.mjs";
import { fmtMB, fmtRange, fmtRatio, fmtS, fmtSize, table } from "../lib/format.mjs";
import { verdict } from "../lib/targets.mjs";
import { GiB, KiB } from "../lib/units.mjs";

const META = "meta-4m-snap";

/** The comparisons: an image and the two states compared. */
const CASES = [
  {
    image: "snap-20",
    states: ["--from", "snapshot:snap-01", "--to", "snapshot:snap-20"],
    what: "snapshot snap-01 → snapshot snap-20",
  },
  { image: META, states: ["--from", "snapshot:before"], what: "snapshot before → active" },
];

/** Sorted ranges merged where they touch. */
function merge(extents) {
  const out = [];
  for (const e of [...extents].sort((a, b) => a.start - b.start)) {
    const last = out[out.length - 1];
    if (last && last.start + last.length >= e.start)
      last.length = Math.max(last.length, e.start + e.length - last.start);
    else out.push({ start: e.start, length: e.length });
  }
  return out;
}

/** Whether every exact extent lies inside the metadata-only ones. */
function covered(meta, exact) {
  const outer = merge(meta);
  let i = 0;
  for (const r of merge(exact)) {
    while (i < outer.length && outer[i].start + outer[i].length <= r.start) i++;
    const o = outer[i];
    if (!o || o.start > r.start || o.start + o.length < r.start + r.length) return false;
  }
  return true;
}

export default {
  name: "diff",
  recipes: [
    {
      name: META,
      content: "meta-4m's data, snapshot `before`, then 256 scattered writes (the diff group's)",
      version: "1",
      build(out, kit) {
        const raw = path.join(kit.dir, "meta-snap.raw");
        writeMetaRaw(raw, 16 * GiB, 64 * KiB);
        kit.sh("qemu-img", ["convert", "-O", "qcow2", "-o", "cluster_size=4096", raw, out]);
        fs.rmSync(raw);
        kit.sh("qemu-img", ["snapshot", "-c", "before", out]);
        const r = rng(4096);
        const args = ["-f", "qcow2"];
        for (let k = 0; k < 256; k++) {
          const len = (1 + (r() % 16)) * 4 * KiB;
          const off = (r() % ((16 * GiB - len) / 4096)) * 4096;
          args.push(
            "-c",
            k % 8 === 7
              ? `write -z ${off} ${len}`
              : `write -P 0x${(r() & 0xff).toString(16)} ${off} ${len}`,
          );
        }
        kit.sh("qemu-io", [...args, out]);
      },
    },
  ],
  images: () => CASES.map((c) => c.image),
  run(ctx) {
    const rows = [];
    for (const c of CASES) {
      if (!ctx.inRun([c.image]).length) continue;
      const img = ctx.imgPath(c.image);
      const cap = {
        meta: path.join(ctx.work, "diff-meta.json"),
        map: path.join(ctx.work, "diff-map.json"),
        exact: path.join(ctx.work, "diff-exact.json"),
      };
      // Exit 1 means "the states differ".
      const pair = ctx.comparePair(
        `diff ${c.image}`,
        {
          argv: ctx.ours("diff", "--metadata-only", "--json", ...c.states, img),
          ok: [0, 1],
          capture: cap.meta,
        },
        { argv: ctx.ours("map", "--json", img), capture: cap.map },
      );
      const exact = ctx.measureAlone(`diff-exact ${c.image}`, {
        argv: ctx.ours("diff", "--json", "--quiet", ...c.states, img),
        ok: [0, 1],
        capture: cap.exact,
      });
      const meta = JSON.parse(fs.readFileSync(cap.meta, "utf8"));
      const ex = JSON.parse(fs.readFileSync(cap.exact, "utf8"));
      pair.what = c.what;
      pair.metaExtents = meta.extents.length;
      pair.metaBytes = meta.changedBytes;
      exact.what = c.what;
      exact.extents = ex.extents.length;
      exact.changedBytes = ex.changedBytes;
      exact.bytesRead = ex.bytesRead;
      exact.virtualSize = ex.to.virtualSize;
      if (!covered(meta.extents, ex.extents))
        ctx.notes.push(`diff ${c.image}: the metadata-only extents do not cover the exact ones`);
      for (const f of Object.values(cap)) fs.rmSync(f, { force: true });
      rows.push(pair, exact);
    }
    return rows.length ? rows : undefined;
  },
  report(ctx, md) {
    const rows = ctx.results.diff ?? [];
    const pairs = rows.filter((r) => r.label.startsWith("diff "));
    const exact = rows.filter((r) => r.label.startsWith("diff-exact "));
    if (!pairs.length) return;
    md.push("## Diff", "");
    md.push(
      `Ours: \`${ctx.cliShown} diff --metadata-only --json STATES IMG\`. Reference: our own \`${ctx.cliShown} map --json IMG\` on the same image (QEMU has no diff; \`map\` walks the image's metadata once and prints every extent). Both exit codes 0/1 accepted for diff (1: the states differ).`,
      "",
    );
    md.push(
      table(
        [
          "image",
          "states",
          "diff --metadata-only median [min–max]",
          "map --json median [min–max]",
          "ratio",
          "diff peak RSS",
          "map peak RSS",
          "extents (metadata)",
          "at most",
        ],
        pairs.map((r) => [
          r.label.split(" ")[1],
          r.what,
          fmtRange(r.ours),
          fmtRange(r.ref),
          fmtRatio(r.ours.median / r.ref.median),
          fmtMB(r.ours.rssKiB),
          fmtMB(r.ref.rssKiB),
          String(r.metaExtents),
          fmtSize(r.metaBytes),
        ]),
      ),
      "",
    );
    md.push(
      `Exact: \`${ctx.cliShown} diff --json --quiet STATES IMG\`. Guest bytes read (both sides together) against the bytes that changed: only the ranges whose mappings differ are read.`,
      "",
    );
    md.push(
      table(
        [
          "image",
          "states",
          "wall median [min–max]",
          "peak RSS",
          "extents",
          "bytes changed",
          "bytes read",
          "read ÷ changed",
          "virtual size",
        ],
        exact.map((r) => [
          r.label.split(" ")[1],
          r.what,
          fmtRange(r.ours),
          fmtMB(r.ours.rssKiB),
          String(r.extents),
          fmtSize(r.changedBytes),
          fmtSize(r.bytesRead),
          r.changedBytes > 0 ? fmtRatio(r.bytesRead / r.changedBytes) : "-",
          fmtSize(r.virtualSize),
        ]),
      ),
      "",
    );
  },
  targets(ctx, add) {
    for (const c of CASES) {
      if (!ctx.allowed([c.image]).length) continue;
      add(`diff ${c.image}: --metadata-only (${c.what}) ≤ 1.5× our map --json wall time`, () => {
        const r = ctx.find("diff", c.image);
        if (!r) return null;
        const t = r.ours.median / r.ref.median;
        return {
          status: verdict(t <= 1.5),
          detail: `diff ${fmtS(r.ours.median)} vs map ${fmtS(r.ref.median)} (${fmtRatio(t)})`,
        };
      });
    }
  },
};
