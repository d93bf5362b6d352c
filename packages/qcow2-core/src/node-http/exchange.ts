import type { HttpAnswer } from "../source/http/range-client.js";
import {
  headEnd,
  MAX_HEAD_BYTES,
  malformed,
  parseResponseHead,
  type ResponseHead,
} from "./response-head.js";

/** Bytes read at most at once into a fresh chunk for a body read chunk by chunk. */
const STREAM_CHUNK = 256 * 1024;

/** A network failure, shaped like Node's own (`code`), so the range client retries it. */
export function networkError(message: string, code = "ECONNRESET", cause?: unknown): Error {
  return Object.assign(new Error(message, cause === undefined ? undefined : { cause }), { code });
}

/** The answer used something this client leaves to node:http (1xx, chunked, a body until close, a redirect). */
export class NeedsFallback extends Error {
  constructor(
    message: string,
    /** The origin keeps answering so: send it all its requests through node:http. */
    readonly sticky: boolean,
  ) {
    super(message);
  }
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** A kept-alive connection closed before answering: the request was never seen, so it may be sent again. */
export class StaleConnection extends Error {}

interface Sink {
  target: Uint8Array;
  filled: number;
  progress: (bytes: number) => void;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/** What an exchange needs from its connection. */
export interface ExchangeHost {
  /** The body is complete: `reusable` says whether another request may follow on this connection. */
  finished(reusable: boolean): void;
  /** Starts reading again after a pause. */
  resume(): void;
  /** Drops the connection (a cancelled body is never drained). */
  destroy(): void;
}

/**
 * One request's answer on a raw connection: the head is collected and
 * parsed, then the body goes either straight into the caller's buffer (the
 * socket reads into it: {@link nextReadBuffer}) or, when bytes arrive with
 * nowhere to go, into copies kept until asked for, with reading paused.
 */
export class Exchange implements HttpAnswer {
  status = 0;
  statusText = "";
  private headers = new Map<string, string>();
  private head: Uint8Array | null = null;
  private headLength = 0;
  private headDone = false;
  private remaining = 0;
  private done = false;
  private failure: unknown = null;
  private reusable = true;
  private pending: Uint8Array[] = [];
  private sink: Sink | null = null;
  private reader: { resolve: (b: Uint8Array | null) => void; reject: (e: unknown) => void } | null =
    null;
  private readonly answered: Promise<void>;
  private settleHead!: { resolve: () => void; reject: (e: unknown) => void };
  /** Bytes of the answer seen so far (a reused connection that closes at 0 was stale). */
  seen = 0;

  constructor(
    private readonly host: ExchangeHost,
    /** Whether the connection served a request before this one. */
    private readonly reused: boolean,
  ) {
    this.answered = new Promise((resolve, reject) => {
      this.settleHead = { resolve, reject };
    });
    this.answered.catch(() => undefined);
  }

  private settled: Array<() => void> = [];
  private streaming = false;

  /** Runs `task` once the body is over: complete, cancelled or failed. */
  onSettled(task: () => void): void {
    if (this.done || this.failure !== null) task();
    else this.settled.push(task);
  }

  private settle(): void {
    const tasks = this.settled;
    this.settled = [];
    for (const task of tasks) task();
  }

  /** Resolves once the head is in and understood. */
  whenAnswered(): Promise<void> {
    return this.answered;
  }

  header(name: string): string | null {
    return this.headers.get(name.toLowerCase()) ?? null;
  }

  /**
   * Where the socket's next read may land, or `null` for the connection's
   * own small buffer: the rest of the caller's buffer while `readInto` waits
   * (never past the end of the body, so nothing of a later answer lands in
   * it), or a fresh chunk once the body is being read chunk by chunk.
   */
  nextReadBuffer(): Uint8Array | null {
    if (this.done || this.failure !== null || this.remaining === 0) return null;
    const s = this.sink;
    if (s !== null) {
      const room = Math.min(s.target.length - s.filled, this.remaining);
      return room > 0 ? s.target.subarray(s.filled, s.filled + room) : null;
    }
    return this.streaming ? new Uint8Array(Math.min(STREAM_CHUNK, this.remaining)) : null;
  }

  /**
   * `n` bytes were read into `buf`, which {@link nextReadBuffer} gave. Returns
   * whether to keep reading.
   */
  landed(n: number, buf: Uint8Array): boolean {
    this.seen += n;
    const s = this.sink;
    if (s !== null && buf.buffer === s.target.buffer) {
      this.remaining -= n;
      s.filled += n;
      s.progress(n);
      if (s.filled === s.target.length || this.remaining === 0) this.settleSink();
      if (this.remaining === 0) this.finishBody();
      return true;
    }
    this.deliver(buf.subarray(0, n), true);
    return this.keepReading();
  }

  private keepReading(): boolean {
    // Paused while read bytes wait for a taker; a finished body leaves the connection idle, reading.
    return this.done || !(this.pending.length > 0 && this.sink === null && this.reader === null);
  }

  /** Bytes read into the connection's own buffer (valid only during this call). Returns whether to keep reading. */
  received(bytes: Uint8Array): boolean {
    this.seen += bytes.length;
    if (!this.headDone) {
      // A head in one read (the usual case) is parsed where it lies; one in pieces is gathered
      // in a buffer of the largest head allowed (no regrowing: a byte per packet stays linear).
      const from = this.headLength;
      let joined = bytes;
      if (from > 0 || headEnd(bytes) < 0) {
        this.head ??= new Uint8Array(MAX_HEAD_BYTES + 4);
        const k = Math.min(bytes.length, this.head.length - from);
        this.head.set(bytes.subarray(0, k), from);
        this.headLength += k;
        joined = this.head.subarray(0, this.headLength);
        if (k < bytes.length && headEnd(joined, from - 3) < 0) {
          this.fail(malformed(`head longer than ${MAX_HEAD_BYTES} bytes`));
          return false;
        }
        // Bytes past the buffer come after a complete head: the body's, read from `bytes`.
        if (k < bytes.length) joined = concat(joined, bytes.subarray(k));
      }
      const end = headEnd(joined, from - 3);
      if (end < 0) {
        if (joined.length > MAX_HEAD_BYTES)
          this.fail(malformed(`head longer than ${MAX_HEAD_BYTES} bytes`));
        return this.failure === null;
      }
      let parsed: ResponseHead;
      try {
        parsed = parseResponseHead(joined, end);
      } catch (e) {
        this.fail(e);
        return false;
      }
      this.head = null;
      if (!this.begin(parsed)) return false;
      this.deliver(joined.subarray(parsed.length), false);
    } else {
      this.deliver(bytes, false);
    }
    return this.keepReading();
  }

  /** Takes the parsed head; false when this client does not handle such an answer. */
  private begin(head: ResponseHead): boolean {
    const h = head.headers;
    const declared = h.get("content-length");
    const bodiless = head.status === 204 || head.status === 304;
    if (head.status < 200 || h.has("transfer-encoding") || (declared === undefined && !bodiless)) {
      this.fail(new NeedsFallback(`HTTP ${head.status} needs node:http`, true));
      return false;
    }
    if (REDIRECTS.has(head.status) && h.has("location")) {
      // node:http follows it, with the rules on headers across origins.
      this.fail(new NeedsFallback(`HTTP ${head.status} redirect`, false));
      return false;
    }
    this.status = head.status;
    this.statusText = head.statusText;
    this.headers = h;
    this.headDone = true;
    this.remaining = bodiless ? 0 : Number(declared);
    const connection = (h.get("connection") ?? "").toLowerCase();
    this.reusable = head.minorVersion === 1 && !/(^|,)\s*close\s*(,|$)/.test(connection);
    this.settleHead.resolve();
    if (this.remaining === 0) this.finishBody();
    return true;
  }

  /**
   * Body bytes into the sink, to a waiting reader, or kept; `owned` when
   * `bytes` is this exchange's own (else it is the connection's, to copy).
   */
  private deliver(bytes: Uint8Array, owned: boolean): void {
    let body = bytes;
    if (body.length > this.remaining) {
      // More than Content-Length: whatever follows is no answer to anything we asked.
      this.reusable = false;
      body = body.subarray(0, this.remaining);
    }
    if (body.length === 0 && this.remaining > 0) return;
    this.remaining -= body.length;
    const s = this.sink;
    if (s !== null) {
      const k = Math.min(body.length, s.target.length - s.filled);
      s.target.set(body.subarray(0, k), s.filled);
      s.filled += k;
      if (k > 0) s.progress(k);
      if (k < body.length) this.pending.push(owned ? body.subarray(k) : body.slice(k));
      if (s.filled === s.target.length || this.remaining === 0) this.settleSink();
    } else if (this.reader !== null && body.length > 0) {
      const r = this.reader;
      this.reader = null;
      r.resolve(owned ? body : body.slice());
    } else if (body.length > 0) {
      this.pending.push(owned ? body : body.slice());
    }
    if (this.remaining === 0) this.finishBody();
  }

  private settleSink(): void {
    const s = this.sink;
    this.sink = null;
    s?.resolve();
  }

  private finishBody(): void {
    if (this.done) return;
    this.done = true;
    this.settleSink();
    if (this.reader !== null && this.pending.length === 0) {
      const r = this.reader;
      this.reader = null;
      r.resolve(null);
    }
    this.host.finished(this.reusable);
    this.settle();
  }

  /** The connection failed or was aborted; a finished body keeps what it has. */
  fail(e: unknown): void {
    if (this.done || this.failure !== null) return;
    const stale = this.reused && this.seen === 0 && !(e instanceof NeedsFallback);
    this.failure = stale ? new StaleConnection("kept-alive connection closed", { cause: e }) : e;
    this.settleHead.reject(this.failure);
    const s = this.sink;
    this.sink = null;
    s?.reject(this.failure);
    const r = this.reader;
    this.reader = null;
    r?.reject(this.failure);
    this.host.destroy();
    this.settle();
  }

  read(): Promise<Uint8Array | null> {
    const next = this.pending.shift();
    if (next !== undefined) return Promise.resolve(next);
    if (this.done) return Promise.resolve(null);
    if (this.failure !== null) return Promise.reject(this.failure);
    // Read chunk by chunk from now on: the socket reads into fresh chunks handed over whole.
    this.streaming = true;
    return new Promise((resolve, reject) => {
      this.reader = { resolve, reject };
      this.host.resume();
    });
  }

  /**
   * Writes the body's next bytes into `target` from its start until it is
   * full or the body ends, calling `progress` with each batch as it lands.
   * The socket reads into `target` itself: no copy, no allocation.
   */
  readInto(target: Uint8Array, progress: (bytes: number) => void): Promise<void> {
    let filled = 0;
    while (this.pending.length > 0 && filled < target.length) {
      const chunk = this.pending[0] as Uint8Array;
      const k = Math.min(chunk.length, target.length - filled);
      target.set(chunk.subarray(0, k), filled);
      filled += k;
      progress(k);
      if (k === chunk.length) this.pending.shift();
      else this.pending[0] = chunk.subarray(k);
    }
    if (filled === target.length || (this.done && this.pending.length === 0))
      return Promise.resolve();
    if (this.failure !== null) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.sink = { target, filled, progress, resolve, reject };
      this.host.resume();
    });
  }

  async cancel(): Promise<void> {
    if (this.done) return;
    this.fail(networkError("body cancelled", "ABORT_ERR"));
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
