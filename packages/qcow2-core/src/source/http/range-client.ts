import { Qcow2Error } from "../../errors.js";
import { parseContentRange, parseUnsatisfiedRange } from "./content-range.js";

/** Counters of one or several remote sources (share one object to total a whole chain). */
export interface HttpTransferStats {
  /** HTTP requests sent, retries included. */
  requests: number;
  /** Response body bytes received (what crossed the network, wasted or not). */
  bytesReceived: number;
  /** Requests that were retries of a failed one. */
  retries: number;
}

/** A fresh set of zeroed counters. */
export function newTransferStats(): HttpTransferStats {
  return { requests: 0, bytesReceived: 0, retries: 0 };
}

/** One HTTP answer, as the range client reads it. */
export interface HttpAnswer {
  readonly status: number;
  readonly statusText: string;
  /** A response header (case-insensitive), or `null`. */
  header(name: string): string | null;
  /** The next body chunk, or `null` at the end of the body. */
  read(): Promise<Uint8Array | null>;
  /** Stops the body; it is never drained. */
  cancel(): Promise<void>;
  /**
   * Optional, for transports that can read the body straight into a buffer:
   * writes the next body bytes into `target` from its start until it is
   * full or the body ends, calling `progress` with each batch as it lands.
   */
  readInto?(target: Uint8Array, progress: (bytes: number) => void): Promise<void>;
}

/**
 * Sends one GET with `headers` and returns the answer once its headers are in
 * (redirects followed). {@link fetchTransport} wraps the standard `fetch`;
 * the Node entry has a faster one on `node:http`.
 */
export type HttpTransport = (
  url: string,
  headers: ReadonlyArray<readonly [string, string]>,
  signal: AbortSignal,
) => Promise<HttpAnswer>;

/** An {@link HttpTransport} over a `fetch` (the global one by default): runs in browsers. */
export function fetchTransport(fetchImpl: typeof fetch = globalThis.fetch): HttpTransport {
  return async (url, headers, signal) => {
    const res = await fetchImpl(url, {
      headers: headers as Array<[string, string]>,
      signal,
      redirect: "follow",
    });
    const reader = res.body?.getReader() ?? null;
    return {
      status: res.status,
      statusText: res.statusText,
      header: (name) => res.headers.get(name),
      async read() {
        if (reader === null) return null;
        const { done, value } = await reader.read();
        return done ? null : value;
      },
      async cancel() {
        await reader?.cancel().catch(() => undefined);
      },
    };
  };
}

/** What the first answer fixed about the object; every later answer must agree. */
export interface PinnedObject {
  size: number;
  etag: string | null;
  lastModified: string | null;
}

/** How a {@link RangeClient} talks to the server. */
export interface RangeClientSettings {
  url: string;
  /** The redacted URL, for messages. */
  name: string;
  headers: ReadonlyArray<readonly [string, string]>;
  transport: HttpTransport;
  /** Milliseconds without an answer (or without a further body byte) before a request is given up. */
  timeout: number;
  retries: number;
  retryDelay: number;
  maxRetryDelay: number;
  signal: AbortSignal | undefined;
  stats: HttpTransferStats;
  /** Bytes a server that ignores Range may send whole on the first request. */
  wholeObjectLimit: number;
}

/** A failure worth another try: the network, a timeout, a short body, 408/429/5xx. */
class Retryable extends Error {
  constructor(
    readonly failure: Qcow2Error,
    /** Milliseconds the server asked us to wait (Retry-After), if any. */
    readonly after: number | null = null,
  ) {
    super(failure.message);
  }
}

const RETRY_STATUSES = new Set([408, 429, 500, 502, 503, 504]);

function statusText(res: HttpAnswer): string {
  return `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ""}`;
}

/** Retry-After in milliseconds: delta-seconds or an HTTP date. */
function retryAfter(res: HttpAnswer): number | null {
  const value = res.header("retry-after");
  if (value === null) return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, date - Date.now());
}

/** A weak and a strong ETag with the same tag name the same representation here. */
function sameTag(a: string, b: string): boolean {
  return a.replace(/^W\//, "") === b.replace(/^W\//, "");
}

async function discard(res: HttpAnswer): Promise<void> {
  // Cancel, never drain: the body may be the whole multi-GiB object.
  await res.cancel().catch(() => undefined);
}

/**
 * The HTTP conversation about one object: Range requests only, each answer
 * checked (206, the exact `Content-Range`, the pinned size, ETag and
 * Last-Modified), retried with backoff on network errors, timeouts, 408, 429
 * and 5xx, and stopped by the caller's `AbortSignal` or by {@link close}.
 */
export class RangeClient {
  pinned: PinnedObject | null = null;
  private readonly closer = new AbortController();
  /**
   * What stops each request and wait in progress. One listener on the caller's
   * signal serves them all: a listener each would pile up (16 requests in flight).
   */
  private readonly stoppers = new Set<() => void>();

  constructor(private readonly s: RangeClientSettings) {
    s.signal?.addEventListener("abort", () => this.stopAll(), { once: true });
  }

  private stopAll(): void {
    for (const stop of [...this.stoppers]) stop();
  }

  private error(
    code: "IO" | "HTTP_STATUS" | "RANGE_NOT_SUPPORTED" | "SOURCE_CHANGED" | "TIMEOUT" | "ABORTED",
    message: string,
    details: { value?: string | number; offset?: number; cause?: unknown } = {},
  ): Qcow2Error {
    return new Qcow2Error(code, message, { file: this.s.name, ...details });
  }

  /**
   * One request: `handle` gets the response and `arm`, which restarts the
   * idle timer (call it for each body chunk). Timeouts, the caller's signal
   * and close() all abort the request and surface as typed errors.
   */
  private async request<T>(
    range: string,
    handle: (res: HttpAnswer, arm: () => void) => Promise<T>,
  ): Promise<T> {
    if (this.closer.signal.aborted) throw this.error("IO", "read after close");
    if (this.s.signal?.aborted) throw this.error("ABORTED", "aborted by the caller");
    const controller = new AbortController();
    let timedOut = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        timedOut = true;
        controller.abort();
      }, this.s.timeout);
    };
    const stop = () => controller.abort();
    this.stoppers.add(stop);
    arm();
    try {
      this.s.stats.requests++;
      const headers: Array<readonly [string, string]> = [
        ...this.s.headers.filter(([name]) => !/^(range|accept-encoding)$/i.test(name)),
        ["Range", range],
        // A compressed answer's byte ranges would not be the object's.
        ["Accept-Encoding", "identity"],
      ];
      const res = await this.s.transport(this.s.url, headers, controller.signal);
      arm();
      return await handle(res, arm);
    } catch (e) {
      if (e instanceof Retryable) throw e;
      // A transport's own typed error (a malformed answer) gets the object's name.
      if (e instanceof Qcow2Error) throw e.withFile(this.s.name);
      if (this.s.signal?.aborted)
        throw this.error("ABORTED", "aborted by the caller", { cause: e });
      if (this.closer.signal.aborted) throw this.error("IO", "read after close", { cause: e });
      if (timedOut) {
        throw new Retryable(
          this.error("TIMEOUT", `no answer within ${this.s.timeout} ms (${range})`, { cause: e }),
        );
      }
      const reason = (e as { cause?: { code?: string } })?.cause?.code ?? (e as Error)?.message;
      throw new Retryable(this.error("IO", `request failed (${range}): ${reason}`, { cause: e }));
    } finally {
      clearTimeout(timer);
      this.stoppers.delete(stop);
    }
  }

  /** Runs `attempt` until it succeeds, fails for good, or the retries are spent. */
  private async retrying<T>(attempt: () => Promise<T>): Promise<T> {
    for (let n = 0; ; n++) {
      try {
        return await attempt();
      } catch (e) {
        if (!(e instanceof Retryable)) throw e;
        if (n >= this.s.retries) throw e.failure;
        this.s.stats.retries++;
        const backoff = Math.min(this.s.maxRetryDelay, this.s.retryDelay * 2 ** n);
        // Full jitter on the upper half: clients retrying together spread out.
        const wait = e.after ?? backoff * (0.5 + Math.random() / 2);
        await this.sleep(Math.min(wait, this.s.maxRetryDelay));
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.stoppers.delete(done);
        if (this.s.signal?.aborted) reject(this.error("ABORTED", "aborted by the caller"));
        else if (this.closer.signal.aborted) reject(this.error("IO", "read after close"));
        else resolve();
      };
      const timer = setTimeout(done, ms);
      this.stoppers.add(done);
    });
  }

  /** Throws for an answer that is not the 206 of `[start, end]` of the pinned object. */
  private async expectPartial(res: HttpAnswer, start: number, end: number): Promise<void> {
    if (res.status === 206) {
      const range = parseContentRange(res.header("content-range"));
      const changed = this.changedValidator(res);
      const encoding = res.header("content-encoding");
      let failure: Qcow2Error | null = null;
      if (changed !== null) {
        failure = this.error("SOURCE_CHANGED", changed);
      } else if (range?.total != null && this.pinned !== null && range.total !== this.pinned.size) {
        failure = this.error(
          "SOURCE_CHANGED",
          `the object's size changed from ${this.pinned.size} to ${range.total} bytes during the run`,
          { value: range.total },
        );
      } else if (range === null || range.start !== start || range.end !== end) {
        failure = this.error(
          "RANGE_NOT_SUPPORTED",
          `asked for bytes ${start}-${end}, the server answered Content-Range ${JSON.stringify(res.header("content-range"))}`,
          { offset: start },
        );
      } else if (encoding !== null && encoding.toLowerCase() !== "identity") {
        failure = this.error(
          "RANGE_NOT_SUPPORTED",
          `the server sent the range ${encoding}-encoded; its byte ranges are not the object's`,
        );
      }
      if (failure === null) return;
      await discard(res);
      throw failure;
    }
    await discard(res);
    if (res.status === 200) {
      throw this.error(
        "RANGE_NOT_SUPPORTED",
        `the server ignored the Range request (${statusText(res)} with the whole object); nothing more was downloaded`,
        { value: res.status },
      );
    }
    if (res.status === 412 || res.status === 416) {
      throw this.error(
        "SOURCE_CHANGED",
        `${statusText(res)} for bytes ${start}-${end}: the object changed during the run`,
        { value: res.status },
      );
    }
    this.throwStatus(res, `bytes ${start}-${end}`);
  }

  private throwStatus(res: HttpAnswer, what: string): never {
    const failure = this.error("HTTP_STATUS", `${statusText(res)} (${what})`, {
      value: res.status,
    });
    if (RETRY_STATUSES.has(res.status)) throw new Retryable(failure, retryAfter(res));
    throw failure;
  }

  /** Why the answer's ETag or Last-Modified says the object changed, or `null`. */
  private changedValidator(res: HttpAnswer): string | null {
    const pinned = this.pinned;
    if (pinned === null) return null;
    const etag = res.header("etag");
    if (pinned.etag !== null && etag !== null && !sameTag(etag, pinned.etag))
      return `the object's ETag changed from ${pinned.etag} to ${etag} during the run`;
    const modified = res.header("last-modified");
    if (pinned.lastModified !== null && modified !== null && modified !== pinned.lastModified)
      return `the object's Last-Modified changed from ${pinned.lastModified} to ${modified} during the run`;
    return null;
  }

  /**
   * Reads the body into `target` from `at`; returns the new fill level. More
   * bytes than `target` holds is a protocol error; fewer is the caller's call.
   */
  private async readBody(
    res: HttpAnswer,
    target: Uint8Array,
    progress: { filled: number },
    arm: () => void,
  ): Promise<number> {
    const asked = target.length - progress.filled;
    try {
      if (res.readInto !== undefined && progress.filled < target.length) {
        await res.readInto(target.subarray(progress.filled), (n) => {
          arm();
          this.s.stats.bytesReceived += n;
          // Kept outside: a retry after a dropped connection resumes here.
          progress.filled += n;
        });
        if (progress.filled < target.length) return progress.filled;
      }
      for (;;) {
        const value = await res.read();
        if (value === null) return progress.filled;
        arm();
        this.s.stats.bytesReceived += value.length;
        if (progress.filled + value.length > target.length) {
          throw this.error(
            "RANGE_NOT_SUPPORTED",
            `the server sent more bytes than the ${asked} asked for`,
          );
        }
        target.set(value, progress.filled);
        // Kept outside: a retry after a dropped connection resumes here.
        progress.filled += value.length;
      }
    } catch (e) {
      await res.cancel().catch(() => undefined);
      throw e;
    }
  }

  /**
   * The first request: asks for the first `probeLength` bytes and pins the
   * object's size, ETag and Last-Modified. A server that ignores Range gets
   * its answer read whole only up to `wholeObjectLimit`, else cancelled.
   */
  async open(probeLength: number): Promise<{ head: Uint8Array; whole: boolean }> {
    return this.retrying(() =>
      this.request(`bytes=0-${probeLength - 1}`, async (res, arm) => {
        const pin = (size: number) => {
          this.pinned = {
            size,
            etag: res.header("etag"),
            lastModified: res.header("last-modified"),
          };
        };
        if (res.status === 206) {
          const range = parseContentRange(res.header("content-range"));
          if (range === null || range.total === null || range.start !== 0) {
            await discard(res);
            throw this.error(
              "RANGE_NOT_SUPPORTED",
              `the server's Content-Range ${JSON.stringify(res.header("content-range"))} does not give the object's size`,
            );
          }
          pin(range.total);
          await this.expectPartial(res, 0, range.end);
          const head = new Uint8Array(range.end + 1);
          const got = await this.readBody(res, head, { filled: 0 }, arm);
          if (got < head.length)
            throw new Retryable(this.error("IO", `connection closed after ${got} bytes`));
          return { head, whole: false };
        }
        if (res.status === 416) {
          const size = parseUnsatisfiedRange(res.header("content-range"));
          await discard(res);
          if (size === 0) {
            pin(0);
            return { head: new Uint8Array(0), whole: false };
          }
          this.throwStatus(res, "the first bytes");
        }
        if (res.status === 200) return this.openWhole(res, arm, pin);
        await discard(res);
        this.throwStatus(res, "the first bytes");
      }),
    );
  }

  /** A 200 to the first Range request: keep a small object whole, refuse a large one unread. */
  private async openWhole(
    res: HttpAnswer,
    arm: () => void,
    pin: (size: number) => void,
  ): Promise<{ head: Uint8Array; whole: boolean }> {
    const limit = this.s.wholeObjectLimit;
    const declared = res.header("content-length");
    const length = declared === null ? null : Number(declared);
    const refuse = async (what: string) => {
      await discard(res);
      return this.error(
        "RANGE_NOT_SUPPORTED",
        `the server ignores Range requests (it answered ${statusText(res)} with the whole object, ${what}); objects up to ${limit} bytes are read whole, larger ones are not downloaded`,
        { value: res.status },
      );
    };
    if (length !== null && Number.isSafeInteger(length) && length > limit)
      throw await refuse(`${length} bytes`);
    const buffer = new Uint8Array(length !== null && Number.isSafeInteger(length) ? length : limit);
    let filled: number;
    try {
      filled = await this.readBody(res, buffer, { filled: 0 }, arm);
    } catch (e) {
      if (e instanceof Qcow2Error && e.code === "RANGE_NOT_SUPPORTED" && length === null)
        throw await refuse(`more than ${limit} bytes`);
      throw e;
    }
    if (length !== null && filled < length)
      throw new Retryable(this.error("IO", `connection closed after ${filled} bytes`));
    pin(filled);
    return { head: buffer.subarray(0, filled), whole: true };
  }

  /**
   * Fills `target` with the object's bytes from `start` (the caller keeps
   * the range inside the object). A dropped connection resumes where it
   * stopped.
   */
  async fill(target: Uint8Array, start: number): Promise<void> {
    const progress = { filled: 0 };
    await this.retrying(async () => {
      const from = start + progress.filled;
      const to = start + target.length - 1;
      await this.request(`bytes=${from}-${to}`, async (res, arm) => {
        await this.expectPartial(res, from, to);
        await this.readBody(res, target, progress, arm);
      });
      if (progress.filled < target.length) {
        throw new Retryable(
          this.error("IO", `connection closed after ${progress.filled} of ${target.length} bytes`, {
            offset: start,
          }),
        );
      }
    });
  }

  /**
   * The object's bytes from `start` to `end` (exclusive) in one streamed
   * request, resumed after a dropped connection. Chunks are yielded as they
   * arrive (fresh buffers).
   */
  async *stream(start: number, end: number): AsyncGenerator<Uint8Array> {
    let at = start;
    for (let n = 0; at < end; ) {
      try {
        const partial = await this.request(`bytes=${at}-${end - 1}`, async (r, arm) => {
          await this.expectPartial(r, at, end - 1);
          return { res: r, arm };
        });
        const res = partial.res;
        const timer = { id: undefined as ReturnType<typeof setTimeout> | undefined };
        try {
          for (;;) {
            const chunk = await this.withIdleTimeout(res, timer);
            if (chunk === null) break;
            this.s.stats.bytesReceived += chunk.length;
            const usable = chunk.subarray(0, Math.max(0, Math.min(chunk.length, end - at)));
            at += usable.length;
            if (usable.length > 0) yield usable;
            if (at >= end) break;
          }
        } finally {
          clearTimeout(timer.id);
          await res.cancel().catch(() => undefined);
        }
        if (at < end)
          throw new Retryable(this.error("IO", `connection closed at byte ${at} of ${end}`));
      } catch (e) {
        if (!(e instanceof Retryable)) throw e;
        if (n >= this.s.retries) throw e.failure;
        this.s.stats.retries++;
        await this.sleep(Math.min(this.s.maxRetryDelay, this.s.retryDelay * 2 ** n));
        n++;
      }
    }
  }

  /** One body chunk, or `null` at the end; the idle timeout and abort apply. */
  private withIdleTimeout(
    reader: HttpAnswer,
    timer: { id: ReturnType<typeof setTimeout> | undefined },
  ): Promise<Uint8Array | null> {
    return new Promise((resolve, reject) => {
      const fail = (e: Qcow2Error | Retryable) => {
        cleanup();
        reader.cancel().catch(() => undefined);
        reject(e);
      };
      const onAbort = () =>
        fail(
          this.s.signal?.aborted
            ? this.error("ABORTED", "aborted by the caller")
            : this.error("IO", "read after close"),
        );
      const cleanup = () => {
        clearTimeout(timer.id);
        this.stoppers.delete(onAbort);
      };
      timer.id = setTimeout(
        () => fail(new Retryable(this.error("TIMEOUT", `no bytes within ${this.s.timeout} ms`))),
        this.s.timeout,
      );
      this.stoppers.add(onAbort);
      reader.read().then(
        (value) => {
          cleanup();
          resolve(value);
        },
        (e: unknown) => {
          cleanup();
          reject(
            new Retryable(
              this.error("IO", `connection failed: ${(e as Error)?.message ?? String(e)}`, {
                cause: e,
              }),
            ),
          );
        },
      );
    });
  }

  /** Aborts every request in flight; later requests fail with `IO` "read after close". */
  close(): void {
    this.closer.abort();
    this.stopAll();
  }
}
