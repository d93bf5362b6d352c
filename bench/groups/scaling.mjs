// Scaling: how our cost grows with one parameter of the image while the others stay fixed, against
// qemu-img's on the same images in the same run, as a least-squares slope per unit (per snapshot,
// per TiB of virtual size, per overlay), and our start-up against bare `node -e 0`.
import fs from "node:fs";
import path from "node:path";
import { fmtRatio, fmtS, table } from "../lib/format.mjs";
import { verdict } from "../lib/targets.mjs";
import { KiB } from "../lib/units.mjs";

const SNAPSHOT_COUNTS = [10, 100, 1000];
/** Virtual sizes as qemu-img writes them, and in TiB for the slope. */
const VIRTUAL_SIZES = [
  { name: "1g", arg: "1G", tib: 1 / 1024 },
  { name: "1t", arg: "1T", tib: 1 },
  { name: "64t", arg: "64T", tib: 64 },
];
const CHAIN_DEPTHS = [1, 8, 32];
/** The same scattered writes into every virtual size. */
const SCATTERED_WRITES = 1024;
const WRITE = 64 * KiB;
/**
 * A slope counts as flat when its whole rise over the measured range is below this: process
 * wall times on a shared machine are not resolved more finely.
 */
const FLAT_RISE_S = 0.01;

const snapName = (n) => `scale-snap-${n}`;
const virtName = (v) => `scale-virt-${v.name}`;
const chainName = (d) => `scale-chain-${d}`;
const TINY = "scale-tiny";

// One qemu-io process for many writes: `-c` per write.
const writes = (list) =>
  list.flatMap(([pattern, offset]) => ["-c", `write -q -P ${pattern} ${offset} ${WRITE}`]);

const snapRecipe = (n) => ({
  name: snapName(n),
  content: `1 GiB, ${n} internal snapshots, one 64 KiB write before each`,
  version: "1",
  build(out, kit) {
    kit.sh("qemu-img", ["create", "-q", "-f", "qcow2", out, "1G"]);
    for (let i = 1; i <= n; i++) {
      // Spread over both L2 tables of the image (each covers 512 MiB at 64 KiB clusters).
      const offset = ((i * 7919) % 16384) * WRITE;
      kit.sh("qemu-io", ["-f", "qcow2", ...writes([[(i % 250) + 1, offset]]), out]);
      kit.sh("qemu-img", ["snapshot", "-c", `s${i}`, out]);
    }
  },
});

const virtRecipe = (v) => ({
  name: virtName(v),
  content: `${v.arg.replace("G", " GiB").replace("T", " TiB")} virtual, ${SCATTERED_WRITES} 64 KiB writes spread evenly`,
  version: "1",
  build(out, kit) {
    kit.sh("qemu-img", ["create", "-q", "-f", "qcow2", out, v.arg]);
    const bytes = v.tib * 2 ** 40;
    const stride = Math.floor(bytes / SCATTERED_WRITES / WRITE) * WRITE;
    const list = Array.from({ length: SCATTERED_WRITES }, (_, i) => [(i % 250) + 1, i * stride]);
    kit.sh("qemu-io", ["-f", "qcow2", ...writes(list), out]);
  },
});

/** The overlays below the top one live in a folder of their own, next to the cached image. */
const chainRecipe = (d) => ({
  name: chainName(d),
  content: `256 MiB base and ${d} overlay${d === 1 ? "" : "s"}, one 64 KiB write in each layer`,
  version: "1",
  build(out, kit) {
    const dir = path.join(kit.dir, `${chainName(d)}.layers`);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    const layer = (i) => (i === d ? out : path.join(dir, `l${i}.qcow2`));
    kit.sh("qemu-img", ["create", "-q", "-f", "qcow2", layer(0), "256M"]);
    kit.sh("qemu-io", ["-f", "qcow2", ...writes([[1, 0]]), layer(0)]);
    for (let i = 1; i <= d; i++) {
      kit.sh("qemu-img", [
        "create",
        "-q",
        "-f",
        "qcow2",
        "-F",
        "qcow2",
        "-b",
        layer(i - 1),
        layer(i),
      ]);
      kit.sh("qemu-io", ["-f", "qcow2", ...writes([[(i % 250) + 1, i * 16 * WRITE]]), layer(i)]);
    }
  },
});

const RECIPES = [
  ...SNAPSHOT_COUNTS.map(snapRecipe),
  ...VIRTUAL_SIZES.map(virtRecipe),
  ...CHAIN_DEPTHS.map(chainRecipe),
  {
    name: TINY,
    content: "1 MiB, empty (start-up)",
    version: "1",
    build(out, kit) {
      kit.sh("qemu-img", ["create", "-q", "-f", "qcow2", out, "1M"]);
    },
  },
];

/** The series: one command pair over the images of one parameter. */
function series(ctx) {
  const snaps = SNAPSHOT_COUNTS.map((n) => ({ image: snapName(n), x: n }));
  const virts = VIRTUAL_SIZES.map((v) => ({ image: virtName(v), x: v.tib }));
  const chains = CHAIN_DEPTHS.map((d) => ({ image: chainName(d), x: d }));
  const tmpRaw = path.join(ctx.work, "scaling.raw");
  const removeRaw = () => fs.rmSync(tmpRaw, { force: true });
  const check = (img) => ["qemu-img", "check", img];
  return [
    {
      unit: "snapshot",
      points: snaps,
      cmd: "check",
      ours: ["check"],
      ref: check,
      refName: "qemu-img check",
    },
    {
      unit: "snapshot",
      points: snaps,
      cmd: "audit",
      ours: ["audit"],
      ref: check,
      refName: "qemu-img check",
    },
    {
      unit: "snapshot",
      points: snaps,
      cmd: "snapshots",
      ours: ["snapshots"],
      ref: (img) => ["qemu-img", "snapshot", "-l", img],
      refName: "qemu-img snapshot -l",
    },
    {
      unit: "snapshot",
      points: snaps,
      cmd: "info",
      ours: ["info", "--json"],
      ref: (img) => ["qemu-img", "info", "--output=json", img],
      refName: "qemu-img info --output=json",
    },
    {
      unit: "TiB",
      points: virts,
      cmd: "info",
      ours: ["info", "--json"],
      ref: (img) => ["qemu-img", "info", "--output=json", img],
      refName: "qemu-img info --output=json",
    },
    {
      unit: "TiB",
      points: virts,
      cmd: "check",
      ours: ["check"],
      ref: check,
      refName: "qemu-img check",
    },
    {
      unit: "TiB",
      points: virts,
      cmd: "map",
      ours: ["map", "--json"],
      ref: (img) => ["qemu-img", "map", "--output=json", img],
      refName: "qemu-img map --output=json",
    },
    {
      unit: "TiB",
      points: virts,
      cmd: "audit",
      ours: ["audit"],
      ref: check,
      refName: "qemu-img check",
    },
    {
      unit: "overlay",
      points: chains,
      cmd: "info",
      ours: ["info", "--json"],
      ref: (img) => ["qemu-img", "info", "--output=json", "--backing-chain", img],
      refName: "qemu-img info --backing-chain",
    },
    {
      unit: "overlay",
      points: chains,
      cmd: "map",
      ours: ["map", "--json"],
      ref: (img) => ["qemu-img", "map", "--output=json", img],
      refName: "qemu-img map --output=json",
    },
    {
      unit: "overlay",
      points: chains,
      cmd: "hash",
      ours: ["hash", "--quiet"],
      ref: (img) => [
        "sh",
        "-c",
        `qemu-img convert -O raw '${img}' '${tmpRaw}' && sha256sum '${tmpRaw}'`,
      ],
      refName: "qemu-img convert + sha256sum",
      after: removeRaw,
    },
  ];
}

/** Least-squares slope of y over x. */
function slope(points) {
  const n = points.length;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  const sxx = points.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  const sxy = points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0);
  return sxx === 0 ? 0 : sxy / sxx;
}

/** The two slopes in order. */
const spread = (a, b) => [Math.min(a, b), Math.max(a, b)];

const OK_CODES = [0, 1, 2, 3];

export default {
  name: "scaling",
  recipes: RECIPES,
  images: () => RECIPES.map((r) => r.name),
  run(ctx) {
    const rows = [];
    const fits = [];
    for (const s of series(ctx)) {
      const measured = [];
      for (const p of s.points) {
        if (ctx.inRun([p.image]).length === 0) continue;
        const img = ctx.imgPath(p.image);
        const after = s.after ? () => s.after() : undefined;
        const r = ctx.comparePair(
          `scaling ${p.image} ${s.cmd}`,
          { argv: ctx.ours(...s.ours, img), ok: OK_CODES },
          { argv: s.ref(img), ok: OK_CODES, ...(after ? { after } : {}) },
        );
        r.command = s.cmd;
        r.refName = s.refName;
        rows.push(r);
        measured.push({ x: p.x, ours: r.ours, ref: r.ref });
      }
      if (measured.length < 2) continue;
      const fit = (side, stat) => slope(measured.map((m) => ({ x: m.x, y: m[side][stat] })));
      const ours = fit("ours", "median");
      const ref = fit("ref", "median");
      const span = measured[measured.length - 1].x - measured[0].x;
      fits.push({
        unit: s.unit,
        cmd: s.cmd,
        refName: s.refName,
        ours,
        ref,
        // The same fit over each point's fastest and slowest run: how far run-to-run noise moves it.
        oursSpread: spread(fit("ours", "min"), fit("ours", "max")),
        refSpread: spread(fit("ref", "min"), fit("ref", "max")),
        rise: ours * span,
        n: measured.length,
      });
    }
    const startup = [];
    if (ctx.inRun([TINY]).length > 0) {
      const bare = { argv: [ctx.node, "-e", "0"] };
      startup.push(
        ctx.comparePair(`scaling ${TINY} --version`, { argv: ctx.ours("--version") }, bare),
      );
      startup.push(
        ctx.comparePair(
          `scaling ${TINY} info`,
          { argv: ctx.ours("info", "--json", ctx.imgPath(TINY)) },
          bare,
        ),
      );
    }
    return { rows, fits, startup };
  },
  report(ctx, md) {
    const { rows, fits, startup } = ctx.results.scaling;
    md.push("## Scaling", "");
    md.push(
      `Each command on images that differ in one parameter only, ours (\`${ctx.cliShown} …\`) and the reference alternating in the same run. A slope is the least-squares fit of the median wall times over the parameter, with in brackets the same fit over each point's fastest runs and over its slowest (a reference slope whose bracket spans zero is noise); "flat" means our whole rise over the range is under ${FLAT_RISE_S * 1000} ms. The verdict compares the medians' slopes.`,
      "",
    );
    const per = (s, unit) => `${(s * 1000).toFixed(unit === "TiB" ? 2 : 3)} ms`;
    const ms = (s, unit) => (s * 1000).toFixed(unit === "TiB" ? 2 : 3);
    const withSpread = (s, range, unit) =>
      range === undefined
        ? per(s, unit)
        : `${per(s, unit)} [${ms(range[0], unit)} – ${ms(range[1], unit)}]`;
    md.push(
      table(
        [
          "per",
          "command",
          "reference",
          "our slope",
          "reference slope",
          "our rise over the range",
          "verdict",
        ],
        fits.map((f) => [
          f.unit,
          `\`${f.cmd}\``,
          `\`${f.refName}\``,
          withSpread(f.ours, f.oursSpread, f.unit),
          withSpread(f.ref, f.refSpread, f.unit),
          fmtS(f.rise),
          f.ours <= f.ref ? "at or below" : Math.abs(f.rise) < FLAT_RISE_S ? "flat" : "**above**",
        ]),
      ),
      "",
    );
    md.push(
      table(
        ["image", "command", "ours median", "reference median", "ratio"],
        rows.map((r) => [
          r.label.split(" ")[1],
          `\`${r.command}\` vs \`${r.refName}\``,
          fmtS(r.ours.median),
          fmtS(r.ref.median),
          fmtRatio(r.ours.median / r.ref.median),
        ]),
      ),
      "",
    );
    if (startup.length > 0) {
      md.push(`Start-up against bare \`node -e 0\` (${process.version}), same run:`, "");
      md.push(
        table(
          ["command", "ours median", "`node -e 0` median", "difference"],
          startup.map((r) => [
            `\`${r.label.split(" ").slice(2).join(" ")}\` (${r.label.split(" ")[1]})`,
            fmtS(r.ours.median),
            fmtS(r.ref.median),
            `${((r.ours.median - r.ref.median) * 1000).toFixed(0)} ms`,
          ]),
        ),
        "",
      );
    }
  },
  targets(ctx, add) {
    const res = ctx.results.scaling;
    add(
      "scaling: every slope (per snapshot, per TiB, per overlay) at or below qemu-img's, or flat",
      () => {
        if (!res || res.fits.length === 0) return null;
        const above = res.fits.filter((f) => f.ours > f.ref && Math.abs(f.rise) >= FLAT_RISE_S);
        return {
          status: verdict(above.length === 0),
          detail:
            above.length === 0
              ? `${res.fits.length} slopes`
              : above
                  .map(
                    (f) =>
                      `${f.cmd} per ${f.unit}: ${(f.ours * 1000).toFixed(3)} vs ${(f.ref * 1000).toFixed(3)} ms`,
                  )
                  .join("; "),
        };
      },
    );
    add("scaling: info --json of a 1 MiB image within 30 ms of bare `node -e 0`", () => {
      const r = res?.startup.find((x) => x.label.endsWith(" info"));
      if (!r) return null;
      const d = r.ours.median - r.ref.median;
      return {
        status: verdict(d <= 0.03),
        detail: `${(d * 1000).toFixed(0)} ms over node -e 0 (${fmtS(r.ours.median)} vs ${fmtS(r.ref.median)})`,
      };
    });
  },
};
