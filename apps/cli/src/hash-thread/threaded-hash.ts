import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import type { Worker } from "node:worker_threads";
import type { HashAlgorithm } from "../hashing.js";
import type { HashReply, HashRequest } from "./messages.js";

/**
 * Digests on a worker thread, so that reading the next chunk overlaps with
 * hashing this one. It pays where the reading itself runs on the main thread:
 * a socket's bytes are copied in on the event loop, where SHA-256 would
 * otherwise run too (a local file is read on libuv's thread pool).
 * Chunks sit in shared memory (`chunks({ sharedBuffers: true })`): nothing is
 * copied, and the caller keeps a chunk untouched until it is hashed.
 */
export class ThreadedHash {
  private readonly waiting: Array<() => void> = [];
  private pending = 0;
  private failure: Error | null = null;
  private answer: { done: (d: Record<string, string>) => void; fail: (e: Error) => void } | null =
    null;

  private constructor(private readonly worker: Worker) {
    worker.on("message", (m: HashReply) => {
      if ("hashed" in m) {
        this.pending--;
        this.waiting.shift()?.();
      } else this.answer?.done(m.digests);
    });
    worker.on("error", (e) => this.fail(e));
    worker.on("exit", (code) => {
      if (this.answer !== null || this.pending > 0)
        this.fail(new Error(`the hashing thread ended (exit code ${code})`));
    });
  }

  /**
   * A hashing thread for `algorithms`, or null where there is none to start
   * (the worker file is not next to this bundle, as when run from sources);
   * the caller then hashes on its own thread.
   */
  static async start(algorithms: readonly HashAlgorithm[]): Promise<ThreadedHash | null> {
    const url = new URL("./hash-worker.js", import.meta.url);
    if (url.protocol !== "file:" || !existsSync(fileURLToPath(url))) return null;
    // Loaded here, not with the command: only large guests are hashed on a thread.
    const { Worker } = createRequire(import.meta.url)(
      "node:worker_threads",
    ) as typeof import("node:worker_threads");
    const threaded = new ThreadedHash(new Worker(url));
    threaded.send({ start: algorithms });
    return threaded;
  }

  /** Sends a chunk that lives in a `SharedArrayBuffer`; it must stay untouched until hashed. */
  update(bytes: Uint8Array): void {
    if (!(bytes.buffer instanceof SharedArrayBuffer))
      throw new TypeError("ThreadedHash.update takes bytes in shared memory");
    this.pending++;
    this.send({
      chunk: { buffer: bytes.buffer, offset: bytes.byteOffset, length: bytes.byteLength },
    });
  }

  /** Hashes `length` zero bytes (a run the map reports as zeros), without sending them. */
  zeros(length: number): void {
    this.send({ zeros: length });
  }

  /** Resolves once at most `count` chunks sent are still waiting to be hashed. */
  async settle(count: number): Promise<void> {
    while (this.pending > count) {
      if (this.failure) throw this.failure;
      await new Promise<void>((done) => this.waiting.push(done));
    }
    if (this.failure) throw this.failure;
  }

  /** The digests of everything sent; ends the thread. */
  async digest(): Promise<Record<string, string>> {
    if (this.failure) throw this.failure;
    const digests = new Promise<Record<string, string>>((done, fail) => {
      this.answer = { done, fail };
    });
    this.send({ digest: true });
    try {
      return await digests;
    } finally {
      this.answer = null;
      await this.worker.terminate();
    }
  }

  /** Ends the thread without a digest (the hash was abandoned). */
  async close(): Promise<void> {
    this.answer = null;
    this.pending = 0;
    await this.worker.terminate();
  }

  private send(message: HashRequest): void {
    this.worker.postMessage(message);
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const wake of this.waiting.splice(0)) wake();
    this.answer?.fail(this.failure);
  }
}
