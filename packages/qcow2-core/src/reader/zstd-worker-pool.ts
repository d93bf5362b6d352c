import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import type { Worker } from "node:worker_threads";
import { zstdFrameLength } from "../format/zstd-frame.js";
import { lazyWorkerThreads } from "../node-builtins.js";
import { fzstdDecompressor, type ZstdDecompressor } from "./decompress.js";
import { zstdDecompressor } from "./zstd-wasm.js";
import type { ZstdResult, ZstdTask } from "./zstd-worker.js";

/** How a {@link ZstdWorkerPool} runs. */
export interface ZstdWorkerPoolOptions {
  /** Worker threads (default: the cores available, at most 4). */
  threads?: number;
  /** The built worker script (default: `zstd-worker.js` next to this module). */
  workerUrl?: URL;
}

interface Pending {
  resolve(out: Uint8Array): void;
  reject(error: Error): void;
}

/** A worker died or never started: the task is decoded on this thread instead. */
class PoolUnavailable extends Error {}

/**
 * zstd for Node: compressed clusters decode on worker threads, one
 * WebAssembly decoder per thread, so a large zstd image decompresses on every
 * core. Workers start on the first zstd cluster (images without one cost
 * nothing) and never keep the process alive while idle. If the worker script
 * is missing or a worker fails, decoding continues on the calling thread.
 */
export class ZstdWorkerPool implements ZstdDecompressor {
  private workers: Worker[] | null = null;
  private unavailable = false;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private turn = 0;
  /** Tasks of the current turn of the event loop, sent together (a message per task costs more than decoding it). */
  private batch: ZstdTask[] = [];
  private flushScheduled = false;

  constructor(private readonly options: ZstdWorkerPoolOptions = {}) {}

  /** The synchronous path (used by synchronous callers only): pure JS. */
  decompress(input: Uint8Array, outputSize: number): Uint8Array {
    return fzstdDecompressor.decompress(input, outputSize);
  }

  /** Whether decoding runs on worker threads (false once it fell back to this thread). */
  get usingWorkers(): boolean {
    return this.workers !== null && !this.unavailable;
  }

  async decompressAsync(input: Uint8Array, outputSize: number): Promise<Uint8Array> {
    const frameLength = zstdFrameLength(input);
    if (frameLength === null) throw new Error("not a complete zstd frame");
    if (!this.unavailable && (this.workers !== null || this.start())) {
      try {
        return await this.send(input.slice(0, frameLength), outputSize);
      } catch (e) {
        if (!(e instanceof PoolUnavailable)) throw e;
      }
    }
    return (zstdDecompressor.decompressAsync as NonNullable<ZstdDecompressor["decompressAsync"]>)(
      input,
      outputSize,
    );
  }

  /** Stops the workers; later calls decode on this thread. */
  async close(): Promise<void> {
    const workers = this.workers ?? [];
    this.workers = null;
    this.unavailable = true;
    this.abandon(this.pending.keys());
    await Promise.all(workers.map((w) => w.terminate()));
  }

  private start(): boolean {
    const url = this.options.workerUrl ?? new URL("./zstd-worker.js", import.meta.url);
    let path: string;
    try {
      path = fileURLToPath(url);
    } catch {
      this.unavailable = true;
      return false;
    }
    // Run from sources (tests) or a bundle without the worker file: decode here instead.
    if (!existsSync(path)) {
      this.unavailable = true;
      return false;
    }
    const threads = Math.max(
      1,
      Math.min(this.options.threads ?? Math.min(availableParallelism(), 4), 16),
    );
    const { Worker } = lazyWorkerThreads();
    this.workers = Array.from({ length: threads }, () => {
      const w = new Worker(url);
      w.on("message", (results: ZstdResult[]) => this.settleAll(results));
      w.on("error", () => this.fail());
      w.on("exit", () => this.fail());
      w.unref();
      return w;
    });
    return true;
  }

  private send(frame: Uint8Array, outputSize: number): Promise<Uint8Array> {
    const id = this.nextId++;
    return new Promise<Uint8Array>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // An idle worker does not hold the process open; one with work must.
      if (this.pending.size === 1) for (const w of this.workers ?? []) w.ref();
      this.batch.push({ id, frame, outputSize });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Deals the batch out to the workers in contiguous shares, one message each. */
  private flush(): void {
    this.flushScheduled = false;
    const tasks = this.batch;
    this.batch = [];
    const workers = this.workers;
    if (workers === null || this.unavailable) {
      this.abandon(tasks.map((t) => t.id));
      return;
    }
    const share = Math.ceil(tasks.length / workers.length);
    for (let i = 0; i < tasks.length; i += share) {
      const part = tasks.slice(i, i + share);
      this.turn = (this.turn + 1) % workers.length;
      (workers[this.turn] as Worker).postMessage(
        part,
        part.map((t) => t.frame.buffer as ArrayBuffer),
      );
    }
  }

  private settleAll(results: ZstdResult[]): void {
    for (const r of results) this.settle(r);
  }

  private settle(m: ZstdResult): void {
    const p = this.pending.get(m.id);
    if (p === undefined) return;
    this.pending.delete(m.id);
    if (this.pending.size === 0) for (const w of this.workers ?? []) w.unref();
    if (m.out !== undefined) p.resolve(m.out);
    else p.reject(new Error(m.error ?? "zstd worker failed"));
  }

  /** Hands tasks back to be decoded on the calling thread. */
  private abandon(ids: Iterable<number>): void {
    for (const id of [...ids]) {
      const p = this.pending.get(id);
      if (p === undefined) continue;
      this.pending.delete(id);
      p.reject(new PoolUnavailable("zstd workers unavailable"));
    }
  }

  /** A worker failed: everything still owed is decoded on the calling thread. */
  private fail(): void {
    if (this.unavailable) return;
    this.unavailable = true;
    for (const w of this.workers ?? []) void w.terminate();
    this.abandon(this.pending.keys());
  }
}
