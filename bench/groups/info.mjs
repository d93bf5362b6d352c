// Info: our `info --json` against `qemu-img info --output=json`, on every standard image.
import { pairSection } from "../lib/sections.mjs";

export default {
  name: "info",
  images: (ctx) => ctx.standardImages,
  run(ctx) {
    return ctx.inRun(ctx.standardImages).map((n) => {
      const img = ctx.imgPath(n);
      return ctx.comparePair(
        `info ${n}`,
        { argv: ctx.ours("info", "--json", img) },
        { argv: ["qemu-img", "info", "--output=json", img] },
      );
    });
  },
  report(ctx, md) {
    pairSection(md, {
      title: "Info",
      caption: `Ours: \`${ctx.cliShown} info --json IMG\`. Reference: \`qemu-img info --output=json IMG\`.`,
      rows: ctx.results.info,
      refName: "`qemu-img info --output=json`",
    });
  },
};
