import type { HttpTransport } from "../source/http/range-client.js";
import { type ConnectionOwner, RawConnection } from "./connection.js";
import { type Exchange, NeedsFallback, networkError, StaleConnection } from "./exchange.js";

/** Connections per origin, as node:http's agent here: more than the reader keeps requests in flight (16). */
const MAX_CONNECTIONS = 32;

// RFC 9110 §5.6.2 token; a field value of visible latin-1, space and tab.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
/** Headers that change how the message is framed or routed: left to node:http. */
const FRAMING = /^(host|connection|content-length|transfer-encoding|expect|upgrade|te|trailer)$/i;

/** Idle connections to one origin, and requests waiting for one. */
class Pool implements ConnectionOwner {
  private readonly idle: RawConnection[] = [];
  private open = 0;
  private readonly waiting: Array<(c: RawConnection | null) => void> = [];

  constructor(
    private readonly host: string,
    private readonly port: number,
  ) {}

  /** An idle connection, a new one, or (at the limit) the next one released. */
  acquire(): Promise<RawConnection> | RawConnection {
    for (let c = this.idle.pop(); c !== undefined; c = this.idle.pop()) if (!c.closed) return c;
    if (this.open < MAX_CONNECTIONS) return this.fresh();
    return new Promise((resolve) => {
      this.waiting.push((c) => resolve(c ?? this.fresh()));
    });
  }

  fresh(): RawConnection {
    this.open++;
    return new RawConnection(this.host, this.port, this);
  }

  release(c: RawConnection): void {
    const next = this.waiting.shift();
    if (next !== undefined) next(c);
    else this.idle.push(c);
  }

  gone(c: RawConnection): void {
    this.open--;
    const at = this.idle.indexOf(c);
    if (at >= 0) this.idle.splice(at, 1);
    // A waiter gets a fresh connection in the place of the closed one.
    this.waiting.shift()?.(null);
  }
}

const pools = new Map<string, Pool>();
/** Origins whose answers needed node:http once: they keep using it. */
const fallbackOrigins = new Set<string>();

/** The request's bytes, or `null` when it has anything this client leaves to node:http. */
function requestText(url: URL, headers: ReadonlyArray<readonly [string, string]>): string | null {
  if (url.protocol !== "http:" || url.username !== "" || url.password !== "") return null;
  let text = `GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\n`;
  for (const [name, value] of headers) {
    if (!TOKEN.test(name) || FRAMING.test(name) || !FIELD_VALUE.test(value)) return null;
    text += `${name}: ${value}\r\n`;
  }
  return `${text}\r\n`;
}

/**
 * An `HttpTransport` for `http:` URLs on raw kept-alive sockets, with
 * `fallback` (node:http) for everything it does not do itself: `https:`,
 * credentials in the URL, unusual request headers, and answers that are
 * 1xx, chunked, or without a `Content-Length` (the origin then stays with
 * the fallback); a redirect is sent again through the fallback, which
 * follows it.
 */
export function rawHttpTransport(fallback: HttpTransport): HttpTransport {
  return async (url, headers, signal) => {
    const target = new URL(url);
    const request = fallbackOrigins.has(target.origin) ? null : requestText(target, headers);
    if (request === null) return fallback(url, headers, signal);
    if (signal.aborted) throw networkError("aborted", "ABORT_ERR");
    const key = target.host;
    let pool = pools.get(key);
    if (pool === undefined) {
      // URL keeps an IPv6 literal's brackets; the socket wants the address alone.
      const host = target.hostname.replace(/^\[(.*)\]$/, "$1");
      pool = new Pool(host, Number(target.port || 80));
      pools.set(key, pool);
    }
    for (let attempt = 0; ; attempt++) {
      const connection =
        attempt === 0 ? await pool.acquire() : pool.fresh(); /* a stale one is retried fresh */
      const exchange = connection.send(request);
      const abort = () => exchange.fail(networkError("aborted", "ABORT_ERR"));
      signal.addEventListener("abort", abort, { once: true });
      try {
        await exchange.whenAnswered();
        return withRelease(exchange, () => signal.removeEventListener("abort", abort));
      } catch (e) {
        signal.removeEventListener("abort", abort);
        if (e instanceof StaleConnection && attempt === 0 && !signal.aborted) continue;
        if (e instanceof NeedsFallback) {
          if (e.sticky) fallbackOrigins.add(target.origin);
          return fallback(url, headers, signal);
        }
        throw e instanceof StaleConnection ? (e.cause ?? e) : e;
      }
    }
  };
}

/** The answer, whose abort listener goes once its body is over (read, cancelled or failed). */
function withRelease(exchange: Exchange, release: () => void): Exchange {
  exchange.onSettled(release);
  return exchange;
}
