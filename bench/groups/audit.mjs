// Audit: ours only (QEMU has no equivalent), on every standard image, against absolute targets.
import { fmtMB, fmtNum, fmtRange, fmtS, table } from "../lib/format.mjs";
import { verdict } from "../lib/targets.mjs";

const MAX_SECONDS = 1;
const MAX_RSS_BYTES = 150e6;

export default {
  name: "audit",
  images: (ctx) => ctx.standardImages,
  run(ctx) {
    // Exit 1 only means a finding at or above --fail-on, which is not given here.
    return ctx.inRun(ctx.standardImages).map((n) =>
      ctx.measureAlone(`audit ${n}`, {
        argv: ctx.ours("audit", "--quiet", ctx.imgPath(n)),
        ok: [0, 1],
      }),
    );
  },
  report(ctx, md) {
    const rows = ctx.results.audit;
    if (!rows.length) return;
    md.push("## Audit (ours only)", "");
    md.push(`\`${ctx.cliShown} audit --quiet IMG\` (text report to /dev/null).`, "");
    md.push(
      table(
        ["command", "image", "wall median [min–max]", "peak RSS"],
        rows.map((r) => ["`audit`", r.label.split(" ")[1], fmtRange(r.ours), fmtMB(r.ours.rssKiB)]),
      ),
      "",
    );
  },
  targets(ctx, add) {
    for (const n of ctx.allowed(ctx.standardImages)) {
      add(`audit ${n}: < 1 s and peak RSS < 150 MB`, () => {
        const r = ctx.find("audit", n);
        if (!r) return null;
        const rssB = r.ours.rssKiB == null ? null : r.ours.rssKiB * 1024;
        return {
          status:
            rssB == null ? "NOT RUN" : verdict(r.ours.median < MAX_SECONDS && rssB < MAX_RSS_BYTES),
          detail: `${fmtS(r.ours.median)} [${fmtNum(r.ours.min)}–${fmtNum(r.ours.max)}], ${fmtMB(r.ours.rssKiB)}`,
        };
      });
    }
  },
};
