// Export to raw: our `export` against qemu-img convert -O raw; same bytes, and as sparse.
import fs from "node:fs";
import path from "node:path";
import { fmtSize } from "../lib/format.mjs";
import { gbsColumns, pairSection } from "../lib/sections.mjs";
import { oursVsReference, verdict } from "../lib/targets.mjs";
import { MiB } from "../lib/units.mjs";

const IMAGES = ["alloc-1g", "zlib-1g", "zstd-1g", "sparse-8g"];

// Byte comparison of two files in 8 MiB blocks (`cmp` takes half a minute on 8 GiB of holes).
function sameBytes(a, b) {
  const fa = fs.openSync(a, "r");
  const fb = fs.openSync(b, "r");
  try {
    if (fs.fstatSync(fa).size !== fs.fstatSync(fb).size) return false;
    const ba = Buffer.allocUnsafe(8 * MiB);
    const bb = Buffer.allocUnsafe(8 * MiB);
    for (let off = 0; ; ) {
      const na = fs.readSync(fa, ba, 0, ba.length, off);
      const nb = fs.readSync(fb, bb, 0, bb.length, off);
      if (na !== nb) return false;
      if (na === 0) return true;
      if (!ba.subarray(0, na).equals(bb.subarray(0, nb))) return false;
      off += na;
    }
  } finally {
    fs.closeSync(fa);
    fs.closeSync(fb);
  }
}

function allocation(file) {
  const st = fs.statSync(file);
  return { size: st.size, allocated: st.blocks * 512 };
}

export default {
  name: "export",
  images: () => IMAGES,
  run(ctx) {
    const rows = [];
    for (const n of ctx.inRun(IMAGES)) {
      const img = ctx.imgPath(n);
      const outOurs = path.join(ctx.work, "out-ours.raw");
      const outRef = path.join(ctx.work, "out-ref.raw");
      const rm = (f) => () => fs.rmSync(f, { force: true });
      const alloc = { ours: null, ref: null };
      let same = null;
      const r = ctx.comparePair(
        `export ${n}`,
        {
          argv: ctx.ours("export", "--quiet", img, outOurs, "--force"),
          before: rm(outOurs),
          // Keep the warm-up output for the comparison below; delete the timed ones at once so
          // no dirty page cache is carried into the next run.
          after: (_res, warm) => {
            if (fs.existsSync(outOurs)) alloc.ours = allocation(outOurs);
            if (!warm) fs.rmSync(outOurs, { force: true });
          },
          capture: path.join(ctx.work, "export-ours.txt"),
        },
        {
          argv: ["qemu-img", "convert", "-O", "raw", img, outRef],
          before: rm(outRef),
          after: (_res, warm) => {
            if (fs.existsSync(outRef)) alloc.ref = allocation(outRef);
            if (warm && fs.existsSync(outOurs)) {
              same = sameBytes(outOurs, outRef);
            }
            fs.rmSync(outOurs, { force: true });
            fs.rmSync(outRef, { force: true });
          },
          capture: path.join(ctx.work, "export-ref.txt"),
        },
      );
      r.same = same;
      r.alloc = alloc;
      r.bytes = ctx.meta[n].virtualSize;
      if (same === false) {
        ctx.notes.push(`export ${n}: our output differs from qemu-img convert -O raw`);
      }
      rows.push(r);
    }
    return rows;
  },
  report(ctx, md) {
    pairSection(md, {
      title: "Export to raw",
      caption:
        `Ours: \`${ctx.cliShown} export --quiet IMG out.raw --force\`. Reference: \`qemu-img convert -O raw IMG out.raw\`. ` +
        "Allocated = `st_blocks × 512` of the output right after the run (what `du` shows).",
      rows: ctx.results.export,
      refName: "`qemu-img convert -O raw`",
      extra: [
        ...gbsColumns,
        {
          head: "our output allocated / size",
          cell: (r) =>
            r.alloc.ours
              ? `${fmtSize(r.alloc.ours.allocated)} / ${fmtSize(r.alloc.ours.size)}`
              : "n/a",
        },
        {
          head: "qemu-img output allocated",
          cell: (r) => (r.alloc.ref ? fmtSize(r.alloc.ref.allocated) : "n/a"),
        },
        {
          head: "same bytes",
          cell: (r) => (r.same == null ? "n/a" : r.same ? "yes" : "**NO**"),
        },
      ],
    });
  },
  targets(ctx, add) {
    for (const n of ["zlib-1g", "zstd-1g"]) {
      add(`export ${n}: faster than qemu-img convert -O raw`, () => {
        const r = ctx.find("export", n);
        if (!r) return null;
        return { status: verdict(r.ours.median < r.ref.median), detail: oursVsReference(r) };
      });
    }
    add("export alloc-1g: no slower than qemu-img convert -O raw", () => {
      const r = ctx.find("export", "alloc-1g");
      if (!r) return null;
      return { status: verdict(r.ours.median <= r.ref.median), detail: oursVsReference(r) };
    });
    add("export sparse-8g: the output file is sparse", () => {
      const r = ctx.find("export", "sparse-8g");
      if (!r?.alloc.ours) return null;
      const { size, allocated } = r.alloc.ours;
      return {
        status: verdict(allocated < size / 2),
        detail:
          `${fmtSize(allocated)} allocated of ${fmtSize(size)} (qemu-img's output: ` +
          `${r.alloc.ref ? fmtSize(r.alloc.ref.allocated) : "n/a"})`,
      };
    });
  },
};
