// Map: our `map --json` against `qemu-img map --output=json`, same JSON required.
import fs from "node:fs";
import path from "node:path";
import { fmtSize } from "../lib/format.mjs";
import { pairSection } from "../lib/sections.mjs";
import { withinReference } from "../lib/targets.mjs";

const IMAGES = ["meta-4m", "alloc-1g", "snap-20"];

export default {
  name: "map",
  images: () => IMAGES,
  run(ctx) {
    const rows = [];
    for (const n of ctx.inRun(IMAGES)) {
      const img = ctx.imgPath(n);
      const cap = {
        ours: path.join(ctx.work, "map-ours.json"),
        ref: path.join(ctx.work, "map-ref.json"),
      };
      const r = ctx.comparePair(
        `map ${n}`,
        { argv: ctx.ours("map", "--json", img), capture: cap.ours },
        { argv: ["qemu-img", "map", "--output=json", img], capture: cap.ref },
      );
      const a = fs.readFileSync(cap.ours);
      const b = fs.readFileSync(cap.ref);
      r.outputBytes = b.length;
      if (a.equals(b)) r.match = "identical";
      else {
        let same = false;
        try {
          same = JSON.stringify(JSON.parse(a)) === JSON.stringify(JSON.parse(b));
        } catch {}
        r.match = same ? "same JSON" : "DIFFERENT";
        if (!same) ctx.notes.push(`map ${n}: our --json output differs from qemu-img map`);
      }
      fs.rmSync(cap.ours);
      fs.rmSync(cap.ref);
      rows.push(r);
    }
    return rows;
  },
  report(ctx, md) {
    pairSection(md, {
      title: "Map",
      caption: `Ours: \`${ctx.cliShown} map --json IMG\`. Reference: \`qemu-img map --output=json IMG\`.`,
      rows: ctx.results.map,
      refName: "`qemu-img map --output=json`",
      extra: [{ head: "output", cell: (r) => `${fmtSize(r.outputBytes)}, ${r.match}` }],
    });
  },
  targets(ctx, add) {
    add(
      "map meta-4m: ≤ 1.5× qemu-img's wall time (process start included), peak RSS < 3× qemu-img's",
      () => withinReference(ctx.find("map", "meta-4m"), { wall: 1.5, rss: 3 }),
    );
  },
};
