// Guest SHA-256: our `hash` against qemu-img convert to raw + sha256sum, same digest required.
import fs from "node:fs";
import path from "node:path";
import { fmtRatio, fmtS } from "../lib/format.mjs";
import { gbsColumns, pairSection } from "../lib/sections.mjs";
import { oursVsReference, verdict } from "../lib/targets.mjs";

const IMAGES = ["alloc-1g", "zlib-1g", "zstd-1g", "sparse-8g"];

export default {
  name: "hash",
  images: () => IMAGES,
  run(ctx) {
    const rows = [];
    for (const n of ctx.inRun(IMAGES)) {
      const img = ctx.imgPath(n);
      const tmpRaw = path.join(ctx.work, "tmp.raw");
      const cap = {
        ours: path.join(ctx.work, "hash-ours.txt"),
        ref: path.join(ctx.work, "hash-ref.txt"),
      };
      const r = ctx.comparePair(
        `hash ${n}`,
        { argv: ctx.ours("hash", "--quiet", img), capture: cap.ours },
        {
          argv: [
            "sh",
            "-c",
            `qemu-img convert -O raw '${img}' '${tmpRaw}' && sha256sum '${tmpRaw}'`,
          ],
          capture: cap.ref,
          before: () => fs.rmSync(tmpRaw, { force: true }),
          after: () => fs.rmSync(tmpRaw, { force: true }),
        },
      );
      const hex = (f) => fs.readFileSync(f, "utf8").match(/\b[0-9a-f]{64}\b/)?.[0] ?? null;
      const a = hex(cap.ours);
      const b = hex(cap.ref);
      r.match = a !== null && a === b;
      r.digest = b;
      if (!r.match) ctx.notes.push(`hash ${n}: our digest ${a} differs from qemu-img's ${b}`);
      r.bytes = ctx.meta[n].virtualSize;
      rows.push(r);
    }
    return rows;
  },
  report(ctx, md) {
    pairSection(md, {
      title: "Guest SHA-256",
      caption: `Ours: \`${ctx.cliShown} hash --quiet IMG\`. Reference: \`sh -c 'qemu-img convert -O raw IMG tmp.raw && sha256sum tmp.raw'\`.`,
      rows: ctx.results.hash,
      refName: "convert + sha256sum",
      extra: [...gbsColumns, { head: "same digest", cell: (r) => (r.match ? "yes" : "**NO**") }],
    });
  },
  targets(ctx, add) {
    add(
      "hash alloc-1g: ≥ 1.0 GB/s of guest data, within 1.4× of the node:crypto SHA-256 limit, ≥ 4× faster than qemu-img convert + sha256sum",
      () => {
        const h = ctx.find("hash", "alloc-1g");
        if (!h) return null;
        const gbs = h.bytes / h.ours.median / 1e9;
        const speedup = h.ref.median / h.ours.median;
        const lim = ctx.results.limits?.rows.nodeSha.ours.median;
        const vsLimit = lim ? h.ours.median / lim : null;
        const ok = gbs >= 1.0 && speedup >= 4 && vsLimit !== null && vsLimit <= 1.4;
        return {
          status: lim ? verdict(ok) : gbs >= 1 && speedup >= 4 ? "NOT RUN" : "FAIL",
          detail:
            `${gbs.toFixed(2)} GB/s (${fmtS(h.ours.median)}); ` +
            `${vsLimit ? `${fmtRatio(vsLimit)} the node limit (${fmtS(lim)})` : "limit not measured"}; ` +
            `${fmtRatio(speedup)} faster than the reference (${fmtS(h.ref.median)})`,
        };
      },
    );
    for (const n of ["zlib-1g", "zstd-1g"]) {
      add(`hash ${n}: faster than qemu-img convert + sha256sum`, () => {
        const r = ctx.find("hash", n);
        if (!r) return null;
        return { status: verdict(r.ours.median < r.ref.median), detail: oursVsReference(r) };
      });
    }
  },
};
