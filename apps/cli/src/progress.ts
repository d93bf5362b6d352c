import type { Io } from "./context.js";
import { transfer } from "./remote.js";

/** A progress bar on stderr, drawn only when stderr is a terminal. */
export interface Progress {
  update(done: number): void;
  finish(): void;
}

const NOOP: Progress = { update() {}, finish() {} };

function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(u === 0 ? 0 : 1)} ${units[u]}`;
}

function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds)) return "--:--";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (x: number) => String(x).padStart(2, "0");
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${pad(m)}:${pad(s % 60)}`;
}

/**
 * Starts a progress bar for `total` bytes labelled `label`; a no-op on a pipe
 * or with `quiet`. Redraws at most ten times a second.
 */
export function startProgress(
  io: Io,
  label: string,
  total: number,
  quiet = false,
  unit: "bytes" | "images" = "bytes",
): Progress {
  if (quiet || !io.stderr.isTTY || total <= 0) return NOOP;
  const started = Date.now();
  let lastDraw = 0;
  const width = 30;
  const draw = (done: number) => {
    const elapsed = (Date.now() - started) / 1000;
    const rate = elapsed > 0 ? done / elapsed : 0;
    const fraction = Math.min(1, done / total);
    const filled = Math.round(fraction * width);
    const eta = rate > 0 ? (total - done) / rate : Number.POSITIVE_INFINITY;
    const amount =
      unit === "bytes"
        ? `${formatBytes(done)}/${formatBytes(total)} ${formatBytes(rate)}/s`
        : `${done}/${total} images ${rate.toFixed(1)}/s`;
    // Remote evidence: what crossed the network so far, every image of the chain included.
    const moved =
      transfer.requests > 0
        ? ` | ${formatBytes(transfer.bytesReceived)} over HTTP in ${transfer.requests} requests`
        : "";
    io.stderr.write(
      `\r${label} [${"#".repeat(filled)}${".".repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% ${amount}${moved} ETA ${formatEta(eta)}\x1b[K`,
    );
  };
  return {
    update(done: number) {
      const now = Date.now();
      if (now - lastDraw < 100) return;
      lastDraw = now;
      draw(done);
    },
    finish() {
      draw(total);
      io.stderr.write("\n");
    },
  };
}
