// Remote evidence: our commands on http:// URLs served by nginx on loopback (a server this
// project does not control; its access log counts every request and body byte), against
// qemu-img over http (its curl driver, Debian's qemu-block-extra), and `hash` against itself
// on the local file.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fmtRange, fmtRatio, fmtSize, table } from "../lib/format.mjs";
import { verdict } from "../lib/targets.mjs";

const SMALL = "alloc-1g"; // info, audit and hash
const META = "meta-4m"; // check and map: 4 Mi clusters, 8192 L2 tables of 4 KiB

function which(cmd) {
  return spawnSync("sh", ["-c", `command -v ${cmd}`], { encoding: "utf8" }).stdout.trim() || null;
}

/**
 * nginx serving `root` on 127.0.0.1 (a free port found by trying), logging method, range,
 * status and body bytes per request. Synchronous: groups run synchronously.
 */
function startNginx(nginx, work, root) {
  const dir = path.join(work, "nginx");
  fs.mkdirSync(path.join(dir, "logs"), { recursive: true });
  const log = path.join(dir, "logs", "bytes.log");
  const conf = path.join(dir, "nginx.conf");
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 40000);
    fs.writeFileSync(
      conf,
      `worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/logs/error.log;
events { worker_connections 256; }
http {
  log_format bytes '$request_method "$http_range" $status $body_bytes_sent';
  access_log ${log} bytes;
  server {
    listen 127.0.0.1:${port};
    root ${root};
  }
}
`,
    );
    // Daemonizes once it listens; a port in use fails here and another is tried.
    const r = spawnSync(nginx, ["-p", dir, "-c", conf], { encoding: "utf8" });
    if (r.status !== 0) continue;
    return {
      base: `http://127.0.0.1:${port}/`,
      log,
      stop: () => spawnSync(nginx, ["-p", dir, "-c", conf, "-s", "quit"]),
    };
  }
  throw new Error(
    `nginx would not start: ${fs.readFileSync(path.join(dir, "logs", "error.log"), "utf8").slice(-500)}`,
  );
}

/** Requests and body bytes of one untimed run of `argv` (the log is emptied first). */
function transfer(log, argv, ok = [0]) {
  fs.writeFileSync(log, "");
  // map --json of meta-4m prints 55 MB.
  const r = spawnSync(argv[0], argv.slice(1), {
    stdio: ["ignore", "pipe", "pipe"],
    maxBuffer: 512 * 1024 * 1024,
  });
  if (!ok.includes(r.status))
    throw new Error(`${argv.join(" ")} exited ${r.status}: ${r.stderr.toString().slice(-500)}`);
  const lines = fs.readFileSync(log, "utf8").trim().split("\n").filter(Boolean);
  return {
    requests: lines.length,
    bytes: lines.reduce((n, l) => n + Number(l.split(" ").pop()), 0),
    stdout: r.stdout,
  };
}

export default {
  name: "remote",
  images: () => [SMALL, META],
  run(ctx) {
    const nginx = which("nginx") ?? (fs.existsSync("/usr/sbin/nginx") ? "/usr/sbin/nginx" : null);
    if (!nginx || !which("curl")) {
      const why = "nginx or curl not found (apt-get install nginx-light curl)";
      ctx.log(`remote: SKIPPED: ${why}`);
      return { skipped: why };
    }
    const names = ctx.inRun([SMALL, META]);
    if (names.length === 0) return undefined;
    const server = startNginx(nginx, ctx.work, path.dirname(ctx.imgPath(names[0])));
    const url = (n) => `${server.base}${path.basename(ctx.imgPath(n))}`;
    // qemu-img reads http through its curl driver, packaged apart (qemu-block-extra).
    const probe = spawnSync("qemu-img", ["info", url(names[0])], { encoding: "utf8" });
    const qemu = probe.status === 0;
    const qemuSkip = qemu ? null : `qemu-img cannot read http:// (${probe.stderr.trim()})`;
    if (!qemu) ctx.log(`remote: qemu-img over http skipped: ${qemuSkip}`);
    const rows = [];
    const tmpRaw = path.join(ctx.work, "remote.raw");
    try {
      const cmp = (label, n, ours, ref, ok = [0]) => {
        const moved = {
          ours: transfer(server.log, ours, ok),
          ref: ref && qemu ? transfer(server.log, ref.argv ?? ref, ok) : null,
        };
        const r =
          ref && qemu
            ? ctx.comparePair(
                `${label} ${n}`,
                { argv: ours, ok },
                { ok, ...(ref.argv ? ref : { argv: ref }) },
              )
            : ctx.measureAlone(`${label} ${n}`, { argv: ours, ok });
        r.moved = moved;
        r.image = n;
        r.command = label;
        rows.push(r);
        return r;
      };
      if (names.includes(SMALL)) {
        cmp("info", SMALL, ctx.ours("info", "--json", url(SMALL)), [
          "qemu-img",
          "info",
          "--output=json",
          url(SMALL),
        ]);
        cmp("audit", SMALL, ctx.ours("audit", "--quiet", url(SMALL)), null);
        const remote = cmp("hash", SMALL, ctx.ours("hash", "--quiet", url(SMALL)), {
          // -m 1: with its default 8 coroutines, qemu-img 7.2's curl driver hung here (no CPU,
          // every socket in CLOSE-WAIT after nginx's keep-alive timeout), 9 minutes and counting.
          argv: [
            "sh",
            "-c",
            `timeout 900 qemu-img convert -m 1 -O raw '${url(SMALL)}' '${tmpRaw}' && sha256sum '${tmpRaw}'`,
          ],
          before: () => fs.rmSync(tmpRaw, { force: true }),
          after: () => fs.rmSync(tmpRaw, { force: true }),
        });
        const digest = (out) => out.toString().match(/\b[0-9a-f]{64}\b/)?.[0] ?? null;
        const local = ctx.comparePair(
          `hash-local ${SMALL}`,
          { argv: ctx.ours("hash", "--quiet", url(SMALL)) },
          { argv: ctx.ours("hash", "--quiet", ctx.imgPath(SMALL)) },
        );
        remote.local = local;
        const a = digest(remote.moved.ours.stdout);
        const [node, ...args] = ctx.ours("hash", "--quiet", ctx.imgPath(SMALL));
        const b = digest(spawnSync(node, args).stdout);
        remote.match = a !== null && a === b;
        if (!remote.match)
          ctx.notes.push(`remote hash ${SMALL}: ${a} over http, ${b} from the file`);
      }
      if (names.includes(META)) {
        cmp(
          "check",
          META,
          ctx.ours("check", url(META)),
          ["timeout", "900", "qemu-img", "check", url(META)],
          [0, 2, 3],
        );
        const m = cmp("map", META, ctx.ours("map", "--json", url(META)), [
          "timeout",
          "900",
          "qemu-img",
          "map",
          "--output=json",
          url(META),
        ]);
        if (m.moved.ref) {
          m.match = m.moved.ours.stdout.equals(m.moved.ref.stdout);
          if (!m.match)
            ctx.notes.push(`remote map ${META}: our JSON differs from qemu-img's over http`);
        }
      }
    } finally {
      server.stop();
      fs.rmSync(tmpRaw, { force: true });
    }
    return { rows, qemuSkip };
  },
  report(ctx, md) {
    const res = ctx.results.remote;
    md.push("## Remote evidence (HTTP Range requests)", "");
    if (res.skipped) {
      md.push(`Skipped: ${res.skipped}.`, "");
      return;
    }
    md.push(
      `Each image is served by nginx on 127.0.0.1 (a server this project does not control); its access log gives the requests and response body bytes of one untimed run of each command. Ours: \`${ctx.cliShown} <command> http://127.0.0.1:PORT/IMG\`. Reference: the same qemu-img command on the same URL (curl driver; \`convert -m 1\`, since with its default 8 coroutines qemu-img 7.2's curl driver hung here: no CPU, every socket in CLOSE-WAIT)${res.qemuSkip ? ` — not measured: ${res.qemuSkip}` : ""}. Times are medians over the runs, process start included; \`hash\` also runs on the local file.`,
      "",
    );
    const bytes = (t) => (t ? `${t.bytes.toLocaleString("en-US")} B (${fmtSize(t.bytes)})` : "n/a");
    md.push(
      table(
        [
          "command",
          "image",
          "ours: requests",
          "ours: bytes",
          "ours: % of file",
          "qemu-img: requests",
          "qemu-img: bytes",
          "ours median [min–max]",
          "qemu-img median [min–max]",
          "ratio",
        ],
        res.rows.map((r) => [
          `\`${r.command}\``,
          r.image,
          String(r.moved.ours.requests),
          bytes(r.moved.ours),
          `${((100 * r.moved.ours.bytes) / ctx.meta[r.image].fileSize).toFixed(3)} %`,
          r.moved.ref ? String(r.moved.ref.requests) : "—",
          bytes(r.moved.ref),
          fmtRange(r.ours),
          r.ref ? fmtRange(r.ref) : "—",
          r.ref ? fmtRatio(r.ours.median / r.ref.median) : "—",
        ]),
      ),
      "",
    );
    const h = res.rows.find((r) => r.command === "hash");
    if (h?.local) {
      const gb = ctx.meta[h.image].virtualSize / 1e9;
      md.push(
        `\`hash\` ${h.image} over http against the same command on the local file, alternating: ${fmtRange(h.local.ours)} vs ${fmtRange(h.local.ref)} (${(gb / h.local.ours.median).toFixed(2)} vs ${(gb / h.local.ref.median).toFixed(2)} GB/s), same digest: ${h.match ? "yes" : "**NO**"}.`,
        "",
      );
    }
  },
  targets(ctx, add) {
    const row = (command, image) =>
      ctx.results.remote?.rows?.find((r) => r.command === command && r.image === image);
    add("remote info alloc-1g: moves no more bytes than qemu-img info over http", () => {
      const r = row("info", SMALL);
      if (!r?.moved.ref) return null;
      return {
        status: verdict(r.moved.ours.bytes <= r.moved.ref.bytes),
        detail: `${r.moved.ours.bytes} B in ${r.moved.ours.requests} requests vs ${r.moved.ref.bytes} B in ${r.moved.ref.requests}`,
      };
    });
    add("remote audit alloc-1g: moves under 1 % of the file", () => {
      const r = row("audit", SMALL);
      if (!r) return null;
      const share = r.moved.ours.bytes / ctx.meta[SMALL].fileSize;
      return {
        status: verdict(share < 0.01),
        detail: `${r.moved.ours.bytes} B in ${r.moved.ours.requests} requests = ${(100 * share).toFixed(3)} % of ${ctx.meta[SMALL].fileSize} B`,
      };
    });
    for (const command of ["check", "map"]) {
      add(`remote ${command} meta-4m: moves no more than its metadata + 10 %`, () => {
        const r = row(command, META);
        if (!r) return null;
        const m = ctx.meta[META];
        // qemu-img check's allocated clusters are the guest data; the rest of the file is metadata.
        const metadata = m.fileSize - m.allocatedClusters * m.clusterSize;
        return {
          status: verdict(r.moved.ours.bytes <= metadata * 1.1),
          detail: `${r.moved.ours.bytes} B in ${r.moved.ours.requests} requests; metadata ${metadata} B (file ${m.fileSize} B − ${m.allocatedClusters} data clusters × ${m.clusterSize} B): ${(r.moved.ours.bytes / metadata).toFixed(3)}×`,
        };
      });
    }
    add("remote hash alloc-1g: ≥ 70 % of the local file's throughput (loopback)", () => {
      const r = row("hash", SMALL);
      if (!r?.local) return null;
      const share = r.local.ref.median / r.local.ours.median;
      return {
        status: verdict(share >= 0.7),
        detail: `${(100 * share).toFixed(1)} %: ${fmtRange(r.local.ours)} over http vs ${fmtRange(r.local.ref)} from the file`,
      };
    });
  },
};
