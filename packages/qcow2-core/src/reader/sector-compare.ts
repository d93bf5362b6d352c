import { isQcow2Error, type Qcow2Error } from "../errors.js";
import type { ChainCursor, Resolved } from "./chain-cursor.js";
import type { DiffStats } from "./diff.js";
import type { Layer } from "./layer.js";
import { readChain } from "./read-chain.js";
import type { DiskView } from "./state.js";

/** Reads both sides of a range and finds the sectors that differ. */
export class SectorComparer {
  private readonly bufA: Uint8Array;
  private readonly bufB: Uint8Array;

  constructor(
    private readonly a: ChainCursor,
    private readonly b: ChainCursor,
    private readonly chunk: number,
    private readonly granularity: number,
    private readonly stats: DiffStats,
    private readonly progress: (at: number) => void,
  ) {
    this.bufA = new Uint8Array(chunk);
    this.bufB = new Uint8Array(chunk);
  }

  /**
   * The runs of differing sectors in `[start, end)`. `known`: the range lies
   * within one resolved extent of each side, so a side known to read as
   * zeros need not be read.
   */
  async *run(
    start: number,
    end: number,
    ra: Resolved,
    rb: Resolved,
    known: boolean,
  ): AsyncGenerator<[number, number]> {
    const g = this.granularity;
    let runStart = -1;
    for (let at = start; at < end; at += this.chunk) {
      const n = Math.min(this.chunk, end - at);
      const [x, y] = await Promise.all([
        known && ra.zero ? null : this.read(this.a.view, this.bufA, at, n),
        known && rb.zero ? null : this.read(this.b.view, this.bufB, at, n),
      ]);
      for (let k = 0; k < n; k += g) {
        const m = Math.min(g, n - k);
        if (blocksDiffer(x, y, k, m)) {
          if (runStart < 0) runStart = at + k;
        } else if (runStart >= 0) {
          yield [runStart, at + k - runStart];
          runStart = -1;
        }
      }
      this.progress(at + n);
    }
    if (runStart >= 0) yield [runStart, end - runStart];
  }

  private async read(
    view: DiskView,
    buf: Uint8Array,
    offset: number,
    n: number,
  ): Promise<Uint8Array> {
    const out = buf.subarray(0, n);
    const inside = Math.max(0, Math.min(n, view.virtualSize - offset));
    try {
      if (inside > 0) await readChain(view.layers, 0, out.subarray(0, inside), offset);
    } catch (e) {
      const name = (view.layers[0] as Layer).name;
      throw isQcow2Error(e) ? (e as Qcow2Error).withFile(name) : e;
    }
    out.fill(0, inside);
    this.stats.bytesRead += inside;
    return out;
  }
}

/** Whether `[k, k + m)` of `x` and `y` differ (`null`: all zeros). */
function blocksDiffer(x: Uint8Array | null, y: Uint8Array | null, k: number, m: number): boolean {
  if (x === null && y === null) return false;
  if ((k & 3) === 0 && (m & 3) === 0) {
    const wx = x === null ? null : new Uint32Array(x.buffer, x.byteOffset + k, m >> 2);
    const wy = y === null ? null : new Uint32Array(y.buffer, y.byteOffset + k, m >> 2);
    if (wx === null) return !allZero32(wy as Uint32Array);
    if (wy === null) return !allZero32(wx);
    for (let i = 0; i < wx.length; i++) if (wx[i] !== wy[i]) return true;
    return false;
  }
  for (let i = k; i < k + m; i++)
    if ((x === null ? 0 : x[i]) !== (y === null ? 0 : y[i])) return true;
  return false;
}

function allZero32(w: Uint32Array): boolean {
  for (let i = 0; i < w.length; i++) if (w[i] !== 0) return false;
  return true;
}
