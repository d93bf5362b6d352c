// Check: our `check` against `qemu-img check`, same exit code required.
import { pairSection } from "../lib/sections.mjs";
import { withinReference } from "../lib/targets.mjs";

const IMAGES = ["meta-4m", "alloc-1g", "snap-20"];

export default {
  name: "check",
  images: () => IMAGES,
  run(ctx) {
    const rows = [];
    for (const n of ctx.inRun(IMAGES)) {
      const img = ctx.imgPath(n);
      const r = ctx.comparePair(
        `check ${n}`,
        { argv: ctx.ours("check", img), ok: [0, 2, 3] },
        { argv: ["qemu-img", "check", img], ok: [0, 2, 3] },
      );
      r.match = r.warm.ours.code === r.warm.ref.code;
      if (!r.match) {
        ctx.notes.push(
          `check ${n}: exit ${r.warm.ours.code}, qemu-img check exit ${r.warm.ref.code}`,
        );
      }
      rows.push(r);
    }
    return rows;
  },
  report(ctx, md) {
    pairSection(md, {
      title: "Check",
      caption: `Ours: \`${ctx.cliShown} check IMG\`. Reference: \`qemu-img check IMG\`.`,
      rows: ctx.results.check,
      refName: "`qemu-img check`",
      extra: [
        { head: "same exit code", cell: (r) => (r.match ? `yes (${r.warm.ref.code})` : "**NO**") },
      ],
    });
  },
  targets(ctx, add) {
    add(
      "check meta-4m: ≤ 1.5× qemu-img's wall time (process start included), peak RSS < 3× qemu-img's",
      () => withinReference(ctx.find("check", "meta-4m"), { wall: 1.5, rss: 3 }),
    );
  },
};
