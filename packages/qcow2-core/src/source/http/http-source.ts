import { Qcow2Error } from "../../errors.js";
import type { ByteSource } from "../byte-source.js";
import { PAGE, PageCache } from "./page-cache.js";
import {
  fetchTransport,
  type HttpTransferStats,
  type HttpTransport,
  newTransferStats,
  type PinnedObject,
  RangeClient,
} from "./range-client.js";
import { isHttpUrl, redactUrl } from "./redact.js";

/** How {@link httpSource} reads. Every default is explained in the README's Decisions. */
export interface HttpSourceOptions {
  /**
   * Extra request headers (e.g. `Authorization`), as an object or name/value
   * pairs. Sent with every request for this URL; never put in a message.
   */
  headers?: Record<string, string> | ReadonlyArray<readonly [string, string]>;
  /**
   * Aligned block a small unaligned read is widened to, and cached (default
   * 64 KiB; a power of two from 4 KiB to 16 MiB). Reads of whole aligned
   * 4 KiB pages are fetched as asked; reads over four blocks bypass the cache.
   */
  blockSize?: number;
  /** Bytes of cached pages kept (default 16 MiB; 0 disables the cache). */
  cacheSize?: number;
  /** Sequential large reads fetched ahead of the reader (default 2; 0 turns read-ahead off). */
  readAhead?: number;
  /** Retries of a request after a network error, a timeout, 408, 429 or 5xx (default 4). */
  retries?: number;
  /** First backoff in milliseconds, doubled per retry, with jitter (default 250). */
  retryDelay?: number;
  /** Longest wait between retries, Retry-After included (default 8000 ms). */
  maxRetryDelay?: number;
  /** Milliseconds without an answer or a further body byte before a request fails (default 30000). */
  timeout?: number;
  /** Stops every read in progress and every later one with `ABORTED`. */
  signal?: AbortSignal;
  /**
   * A server that ignores Range and answers the first request with the whole
   * object: objects up to this many bytes are kept in memory (default 1 MiB);
   * larger ones fail with `RANGE_NOT_SUPPORTED` before their body is read.
   */
  wholeObjectLimit?: number;
  /** Largest single request made by coalescing adjacent reads (default 8 MiB). */
  maxRequestSize?: number;
  /** The `fetch` to use (default the global one). */
  fetch?: typeof fetch;
  /**
   * How requests are sent, instead of `fetch` (the Node entry's
   * `openEvidenceSource` uses `nodeHttpTransport`, on `node:http`).
   */
  transport?: HttpTransport;
  /** Counters to add to (share one object across a chain to total it). */
  stats?: HttpTransferStats;
  /** The name in messages and reports (default: the URL with its query string redacted). */
  name?: string;
}

/** A {@link ByteSource} over an HTTP(S) URL, with the facts a custody record needs. */
export interface HttpSource extends ByteSource {
  readonly kind: "http";
  /** The URL as given. It may carry credentials: show `name` instead. */
  readonly url: string;
  /** The ETag pinned by the first answer (`null` when the server sent none). */
  readonly etag: string | null;
  /** The Last-Modified pinned by the first answer (`null` when the server sent none). */
  readonly lastModified: string | null;
  readonly stats: HttpTransferStats;
  /** The whole object, streamed in one request (resumed after a dropped connection), checked against the pin. */
  streamObject(): AsyncGenerator<Uint8Array>;
  close(): Promise<void>;
}

/** True for a source opened by {@link httpSource}. */
export function isHttpSource(source: ByteSource): source is HttpSource {
  return (source as Partial<HttpSource>).kind === "http";
}

const KiB = 1024;
const MiB = 1024 * KiB;
const DEFAULTS = {
  blockSize: 64 * KiB,
  cacheSize: 16 * MiB,
  readAhead: 2,
  retries: 4,
  retryDelay: 250,
  maxRetryDelay: 8000,
  timeout: 30_000,
  wholeObjectLimit: 1 * MiB,
  maxRequestSize: 8 * MiB,
};
/** Sequential reads longer than this are not fetched ahead (bounds read-ahead memory). */
const MAX_READ_AHEAD_LENGTH = 8 * MiB;

/** Runs `task` after the reads already under way have queued theirs (a macrotask). */
const later: (task: () => void) => void =
  typeof setImmediate === "function" ? (task) => setImmediate(task) : (task) => setTimeout(task, 0);

interface PendingPage {
  promise: Promise<Uint8Array>;
  resolve(bytes: Uint8Array): void;
  reject(e: unknown): void;
}

interface AheadRange {
  start: number;
  end: number;
  bytes: Promise<Uint8Array>;
  /** Reads waiting to copy out of it. */
  users: number;
}

function usage(message: string, value: string | number): Qcow2Error {
  return new Qcow2Error("OUT_OF_RANGE", message, { field: "httpSource options", value });
}

function checkedOptions(options: HttpSourceOptions) {
  const o = { ...DEFAULTS };
  for (const key of Object.keys(DEFAULTS) as Array<keyof typeof DEFAULTS>) {
    const v = options[key];
    if (v === undefined) continue;
    if (!Number.isSafeInteger(v) || v < 0) throw usage(`${key} must be a whole number ≥ 0`, v);
    o[key] = v;
  }
  const b = o.blockSize;
  if (b < 4 * KiB || b > 16 * MiB || (b & (b - 1)) !== 0)
    throw usage("blockSize must be a power of two from 4 KiB to 16 MiB", b);
  if (o.timeout === 0) throw usage("timeout must be above 0", 0);
  o.maxRequestSize = Math.max(o.maxRequestSize, b);
  return o;
}

function headerPairs(headers: HttpSourceOptions["headers"]): Array<[string, string]> {
  if (headers === undefined) return [];
  const pairs = Array.isArray(headers)
    ? (headers as ReadonlyArray<readonly [string, string]>).map(([k, v]) => [k, v])
    : Object.entries(headers as Record<string, string>);
  return pairs as Array<[string, string]>;
}

/**
 * Opens an HTTP(S) URL as a read-only {@link ByteSource} built on the
 * standard `fetch`, so it runs in Node 20 and in browsers (where the server
 * must allow the origin and expose `Content-Range`, `ETag` and
 * `Last-Modified` to CORS). Every read is a Range request answered `206`
 * with the exact `Content-Range`; the first answer pins the size, ETag and
 * Last-Modified, and any later change is `SOURCE_CHANGED`. Small reads go
 * through a bounded page cache (unaligned ones widened to an aligned block),
 * reads issued together are coalesced into one request when adjacent, and
 * sequential large reads are fetched ahead. Network errors, timeouts, 408,
 * 429 and 5xx are retried with backoff.
 *
 * @example
 * ```ts
 * const source = await httpSource("https://evidence.example/case-7/disk.qcow2", {
 *   headers: { Authorization: `Bearer ${token}` },
 * });
 * const info = await inspect(source);
 * console.log(info.virtualSize, source.etag, source.stats.bytesReceived);
 * await source.close();
 * ```
 */
export async function httpSource(
  url: string | URL,
  options: HttpSourceOptions = {},
): Promise<HttpSource> {
  const href = String(url);
  const name = options.name ?? redactUrl(href);
  if (!isHttpUrl(href))
    throw new Qcow2Error("IO", "not an http:// or https:// URL", { file: name, value: name });
  const o = checkedOptions(options);
  const fetchImpl = options.fetch ?? globalThis.fetch;
  if (options.transport === undefined && typeof fetchImpl !== "function")
    throw new Qcow2Error("IO", "no fetch() in this environment", { file: name });
  const stats = options.stats ?? newTransferStats();
  const client = new RangeClient({
    url: href,
    name,
    headers: headerPairs(options.headers),
    transport: options.transport ?? fetchTransport(fetchImpl.bind(globalThis)),
    timeout: o.timeout,
    retries: o.retries,
    retryDelay: o.retryDelay,
    maxRetryDelay: o.maxRetryDelay,
    signal: options.signal,
    stats,
    wholeObjectLimit: o.wholeObjectLimit,
  });
  const { head, whole } = await client.open(o.blockSize);
  return new RemoteObject(href, name, client, client.pinned as PinnedObject, head, whole, o, stats);
}

class RemoteObject implements HttpSource {
  readonly kind = "http" as const;
  readonly highLatency = true;
  readonly size: number;
  readonly etag: string | null;
  readonly lastModified: string | null;
  private readonly cache: PageCache;
  private readonly pending = new Map<number, PendingPage>();
  private queued: number[] = [];
  private flushing = false;
  private ahead: AheadRange[] = [];
  private lastEnd = -1;
  private directsInFlight = 0;
  /** Sequential large reads arrive while others are in flight: the caller reads ahead itself. */
  private callerPipelines = false;
  /** Buffers of ranges fetched ahead and read out, for the next ones. */
  private spare: Uint8Array[] = [];
  private closed = false;

  constructor(
    readonly url: string,
    readonly name: string,
    private readonly client: RangeClient,
    pinned: PinnedObject,
    /** The first block, or the whole object when the server ignores Range. */
    private readonly head: Uint8Array,
    private readonly whole: boolean,
    private readonly o: ReturnType<typeof checkedOptions>,
    readonly stats: HttpTransferStats,
  ) {
    this.size = pinned.size;
    this.etag = pinned.etag;
    this.lastModified = pinned.lastModified;
    this.cache = new PageCache(o.cacheSize);
    if (!whole) for (let at = 0; at < head.length; at += PAGE) this.store(at / PAGE, head);
  }

  private store(page: number, from: Uint8Array, base = 0): Uint8Array {
    const at = page * PAGE - base;
    const bytes = from.subarray(at, Math.min(at + PAGE, from.length));
    this.cache.set(page, bytes);
    return bytes;
  }

  async read(position: number, length: number): Promise<Uint8Array> {
    const start = Math.min(Math.max(0, position), this.size);
    const n = Math.max(0, Math.min(length, this.size - start));
    const out = new Uint8Array(n);
    await this.fill(out, start, length);
    return out;
  }

  async readInto(target: Uint8Array, position: number): Promise<number> {
    const start = Math.min(Math.max(0, position), this.size);
    const n = Math.max(0, Math.min(target.length, this.size - start));
    await this.fill(target.subarray(0, n), start, target.length);
    return n;
  }

  /** Fills `out` (already clipped to the object) at `start`; `asked` is the length the caller asked for. */
  private async fill(out: Uint8Array, start: number, asked: number): Promise<void> {
    if (this.closed) throw new Qcow2Error("IO", "read after close", { file: this.name });
    const n = out.length;
    if (n === 0) return;
    if (this.whole) {
      out.set(this.head.subarray(start, start + n));
    } else if (asked > 4 * this.o.blockSize) {
      // Judged by the length asked for: the last read of a sequential walk, cut short by
      // the end of the object, is still one of the walk's (and was fetched ahead).
      await this.direct(out, start);
    } else {
      await this.cached(out, start);
    }
  }

  /**
   * A small read through the page cache. Whole aligned pages (a table of a
   * 4 KiB-cluster image) are fetched as asked; anything else is widened to
   * its aligned block, whose neighbours the next small read likely wants.
   */
  private async cached(out: Uint8Array, position: number): Promise<void> {
    const end = position + out.length;
    const lastPage = Math.ceil(this.size / PAGE);
    const shaped = position % PAGE === 0 && out.length % PAGE === 0;
    const b = this.o.blockSize;
    const wideFrom = shaped ? position : Math.floor(position / b) * b;
    const wideTo = shaped ? end : Math.ceil(end / b) * b;
    const needFrom = Math.floor(position / PAGE);
    const needTo = Math.ceil(end / PAGE);
    const waits: Array<[number, Uint8Array | Promise<Uint8Array>]> = [];
    for (let page = wideFrom / PAGE; page < Math.min(wideTo / PAGE, lastPage); page++) {
      const needed = page >= needFrom && page < needTo;
      const hit = needed ? this.cache.get(page) : this.cache.has(page) ? true : undefined;
      if (hit instanceof Uint8Array) waits.push([page, hit]);
      else if (hit === undefined) {
        const wanted = this.want(page);
        if (needed) waits.push([page, wanted]);
      }
    }
    for (const [page, pending] of waits) {
      const bytes = pending instanceof Uint8Array ? pending : await pending;
      const pageStart = page * PAGE;
      const from = Math.max(position, pageStart);
      const to = Math.min(end, pageStart + bytes.length);
      if (to > from) out.set(bytes.subarray(from - pageStart, to - pageStart), from - position);
    }
  }

  /** The page's bytes once fetched; pages wanted in the same turn go out as few requests as possible. */
  private want(page: number): Promise<Uint8Array> {
    const known = this.pending.get(page);
    if (known !== undefined) return known.promise;
    let resolve!: (bytes: Uint8Array) => void;
    let reject!: (e: unknown) => void;
    const promise = new Promise<Uint8Array>((ok, fail) => {
      resolve = ok;
      reject = fail;
    });
    // A widened page nobody awaits must not become an unhandled rejection.
    promise.catch(() => undefined);
    this.pending.set(page, { promise, resolve, reject });
    this.queued.push(page);
    if (!this.flushing) {
      this.flushing = true;
      later(() => this.flush());
    }
    return promise;
  }

  /** Sends the pages queued this turn: each run of adjacent pages is one request. */
  private flush(): void {
    this.flushing = false;
    const pages = this.queued.sort((x, y) => x - y);
    this.queued = [];
    const most = Math.floor(this.o.maxRequestSize / PAGE);
    let first = 0;
    for (let i = 1; i <= pages.length; i++) {
      const runStart = pages[first] as number;
      if (
        i < pages.length &&
        pages[i] === (pages[i - 1] as number) + 1 &&
        (pages[i] as number) - runStart < most
      )
        continue;
      void this.fetchPages(runStart, (pages[i - 1] as number) - runStart + 1);
      first = i;
    }
  }

  private async fetchPages(first: number, count: number): Promise<void> {
    const start = first * PAGE;
    const bytes = new Uint8Array(Math.min(this.size, start + count * PAGE) - start);
    let failure: unknown = null;
    try {
      await this.client.fill(bytes, start);
    } catch (e) {
      failure = e;
    }
    for (let page = first; page < first + count; page++) {
      const waiting = this.pending.get(page);
      this.pending.delete(page);
      if (failure !== null) waiting?.reject(failure);
      else waiting?.resolve(this.store(page, bytes, start));
    }
  }

  /** A large read, straight into `out`, from a range fetched ahead when the reads run in sequence. */
  private async direct(out: Uint8Array, position: number): Promise<void> {
    const end = position + out.length;
    const sequential = position === this.lastEnd;
    // A caller with reads of its own in flight (chunks() keeps two ahead) pipelines already:
    // fetching ahead for it too would only add a copy of every byte.
    // Remembered: a pipelining caller's reads do not always overlap (it may be busy hashing
    // while all of them complete), and one read alone must not restart fetching ahead.
    if (!sequential) this.callerPipelines = false;
    else if (this.directsInFlight > 0) this.callerPipelines = true;
    const pipelined = this.callerPipelines;
    this.lastEnd = end;
    const window = (this.o.readAhead + 2) * out.length;
    // Ranges fetched for another stretch of the object are of no more use.
    this.ahead = this.ahead.filter((a) => a.end > position && a.start < position + window);
    const hit = this.ahead.find((a) => a.start <= position && end <= a.end);
    if (sequential && !pipelined && this.o.readAhead > 0 && out.length <= MAX_READ_AHEAD_LENGTH)
      this.fetchAhead(end, out.length);
    this.directsInFlight++;
    try {
      if (hit === undefined) {
        await this.client.fill(out, position);
        return;
      }
      hit.users++;
      let bytes: Uint8Array;
      try {
        bytes = await hit.bytes;
        out.set(bytes.subarray(position - hit.start, end - hit.start));
      } finally {
        hit.users--;
      }
      if (end === hit.end) {
        this.ahead = this.ahead.filter((a) => a !== hit);
        // Read out and no other read copying from it: the next range fetched ahead reuses it.
        if (hit.users === 0 && this.spare.length < this.o.readAhead + 1) this.spare.push(bytes);
      }
    } finally {
      this.directsInFlight--;
    }
  }

  /** Keeps `readAhead` ranges of `length` in flight after `from`. */
  private fetchAhead(from: number, length: number): void {
    let next = from;
    for (const a of this.ahead) if (a.end > next && a.start <= next) next = a.end;
    let queued = this.ahead.filter((a) => a.start >= from).length;
    while (queued < this.o.readAhead && next < this.size) {
      const len = Math.min(length, this.size - next);
      const spare = this.spare.findIndex((b) => b.length >= len);
      const buffer =
        spare >= 0
          ? (this.spare.splice(spare, 1)[0] as Uint8Array).subarray(0, len)
          : new Uint8Array(len);
      const bytes = this.client.fill(buffer, next).then(() => buffer);
      bytes.catch(() => undefined);
      this.ahead.push({ start: next, end: next + len, bytes, users: 0 });
      next += len;
      queued++;
    }
  }

  async *streamObject(): AsyncGenerator<Uint8Array> {
    if (this.closed) throw new Qcow2Error("IO", "read after close", { file: this.name });
    if (this.whole) {
      if (this.head.length > 0) yield this.head;
      return;
    }
    yield* this.client.stream(0, this.size);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.client.close();
    this.cache.clear();
    this.ahead = [];
    this.spare = [];
  }
}
