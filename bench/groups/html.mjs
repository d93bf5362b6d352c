// HTML report: `audit --format html` (findings plus pictures: host-file map, guest maps of the
// active state and up to 8 snapshots, chain, timeline) against our own `audit --format json` of
// the same image, which has no pictures: the ratio is what drawing costs. No reference tool draws.
import fs from "node:fs";
import path from "node:path";
import { fmtSize } from "../lib/format.mjs";
import { pairSection } from "../lib/sections.mjs";
import { verdict } from "../lib/targets.mjs";

const IMAGES = ["meta-4m", "sparse-8g", "snap-20"];
/** One image's HTML report stays under this (the report's own bound, SPEC §13). */
const MAX_HTML_BYTES = 2e6;

export default {
  name: "html",
  images: () => IMAGES,
  run(ctx) {
    const rows = [];
    for (const n of ctx.inRun(IMAGES)) {
      const img = ctx.imgPath(n);
      const cap = {
        ours: path.join(ctx.work, "audit.html"),
        ref: path.join(ctx.work, "audit.json"),
      };
      // Exit 1 only means a finding at or above --fail-on, which is not given here.
      const r = ctx.comparePair(
        `html ${n}`,
        {
          argv: ctx.ours("audit", "--quiet", "--format", "html", img),
          ok: [0, 1],
          capture: cap.ours,
        },
        {
          argv: ctx.ours("audit", "--quiet", "--format", "json", img),
          ok: [0, 1],
          capture: cap.ref,
        },
      );
      const html = fs.readFileSync(cap.ours, "utf8");
      r.outputBytes = Buffer.byteLength(html);
      r.maps = (html.match(/data-figure="cell-map"/g) ?? []).length;
      if (!html.includes("data-image-path="))
        ctx.notes.push(`html ${n}: no image section in the report`);
      fs.rmSync(cap.ours);
      fs.rmSync(cap.ref);
      rows.push(r);
    }
    return rows;
  },
  report(ctx, md) {
    pairSection(md, {
      title: "HTML report",
      caption:
        `Ours: \`${ctx.cliShown} audit --format html IMG\`. Reference: our own \`audit --format json IMG\` ` +
        "(same findings, no pictures): the ratio is the cost of drawing the maps.",
      rows: ctx.results.html,
      refName: "our `audit --format json`",
      extra: [{ head: "report", cell: (r) => `${fmtSize(r.outputBytes)}, ${r.maps} maps` }],
    });
  },
  targets(ctx, add) {
    for (const n of ctx.allowed(IMAGES)) {
      add(`html ${n}: report < 2 MB, ≤ 3× the JSON audit's wall time`, () => {
        const r = ctx.find("html", n);
        if (!r) return null;
        const ratio = r.ours.median / r.ref.median;
        return {
          status: verdict(r.outputBytes < MAX_HTML_BYTES && ratio <= 3),
          detail: `${fmtSize(r.outputBytes)}, ${r.ours.median.toFixed(3)} s vs ${r.ref.median.toFixed(3)} s (${ratio.toFixed(2)}×)`,
        };
      });
    }
  },
};
