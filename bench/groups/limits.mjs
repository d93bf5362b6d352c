// The machine's own limits on alloc-1g, measured in the same run: what a perfect hash could
// reach (node:crypto over readSync), a page-cache read (dd) and coreutils' sha256sum.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import { fmtGBs, fmtMB, fmtRange, table } from "../lib/format.mjs";
import { median } from "../lib/measure.mjs";
import { GiB } from "../lib/units.mjs";

const IMAGE = "alloc-1g";

export default {
  name: "limits",
  images: () => [IMAGE],
  run(ctx) {
    if (!ctx.inRun([IMAGE]).length) {
      ctx.log(`limits: skipped (needs ${IMAGE}, which --images leaves out)`);
      return undefined;
    }
    const file = ctx.imgPath(IMAGE);
    const script =
      "const fs=require('fs'),c=require('crypto');const fd=fs.openSync(process.argv[1],'r');" +
      "const b=Buffer.allocUnsafe(4<<20);const h=c.createHash('sha256');let o=0;const t=process.hrtime.bigint();" +
      "while(o<2**30){const n=fs.readSync(fd,b,0,Math.min(b.length,2**30-o),o);if(!n)break;h.update(b.subarray(0,n));o+=n}" +
      "h.digest();console.log(Number(process.hrtime.bigint()-t)/1e9)";
    const commands = [
      ["nodeSha", { argv: [ctx.node, "-e", script, file] }],
      ["dd", { argv: ["dd", `if=${file}`, "of=/dev/null", "bs=4M"] }],
      ["sha256sum", { argv: ["sha256sum", file] }],
    ];
    const rows = {};
    for (const [k, s] of commands) rows[k] = ctx.measureAlone(`limit ${k}`, s);
    // In-process time of the node:crypto loop alone (without process start), for the record.
    const inner = [];
    for (let i = 0; i < 3; i++) {
      inner.push(Number(execFileSync(ctx.node, ["-e", script, file], { encoding: "utf8" }).trim()));
    }
    return { rows, size: fs.statSync(file).size, innerNodeSha: median(inner) };
  },
  report(ctx, md) {
    const L = ctx.results.limits;
    md.push("## Machine limits", "");
    md.push(
      `Measured in the same run on alloc-1g.qcow2 (page cache warm); the node:crypto loop hashes its first 1 GiB in 4 MiB \`readSync\` blocks (${fmtGBs(GiB, L.innerNodeSha)} inside the process, start excluded).`,
      "",
    );
    const row = (name, r, bytes) => [
      name,
      fmtRange(r.ours),
      fmtGBs(bytes, r.ours.median),
      fmtMB(r.ours.rssKiB),
    ];
    md.push(
      table(
        ["command", "wall median [min–max]", "throughput", "peak RSS"],
        [
          row("node -e (node:crypto SHA-256, 4 MiB reads, 1 GiB)", L.rows.nodeSha, GiB),
          row("dd if=alloc-1g.qcow2 of=/dev/null bs=4M (page-cache read)", L.rows.dd, L.size),
          row("sha256sum alloc-1g.qcow2 (coreutils)", L.rows.sha256sum, L.size),
        ],
      ),
      "",
    );
  },
};
