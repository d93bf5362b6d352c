import type { Agent, IncomingMessage } from "node:http";
import { lazyHttp, lazyHttps } from "./node-builtins.js";
import { rawHttpTransport } from "./node-http/raw-transport.js";
import type { HttpAnswer, HttpTransport } from "./source/http/range-client.js";

// Kept-alive connections, as many as the reader keeps requests in flight (check: 16).
// Made on the first request: loading node:http and node:https (TLS) costs start-up time.
let agents: Record<"http:" | "https:", Agent> | undefined;
function agentsOnce(): Record<"http:" | "https:", Agent> {
  agents ??= {
    "http:": new (lazyHttp().Agent)({ keepAlive: true, maxSockets: 32 }),
    "https:": new (lazyHttps().Agent)({ keepAlive: true, maxSockets: 32 }),
  };
  return agents;
}

/** Redirects followed, as `fetch` follows them. */
const MAX_REDIRECTS = 20;

function answer(res: IncomingMessage): HttpAnswer {
  const chunks = res[Symbol.asyncIterator]();
  return {
    status: res.statusCode ?? 0,
    statusText: res.statusMessage ?? "",
    header(name) {
      const v = res.headers[name.toLowerCase()];
      return v === undefined ? null : Array.isArray(v) ? v.join(", ") : v;
    },
    async read() {
      const next = await chunks.next();
      return next.done ? null : (next.value as Uint8Array);
    },
    async cancel() {
      res.destroy();
    },
  };
}

/** Name → value(s): a name given twice is sent twice. */
function headerObject(
  headers: ReadonlyArray<readonly [string, string]>,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of headers) {
    const key = name.toLowerCase();
    const had = out[key];
    out[key] = had === undefined ? value : [...(Array.isArray(had) ? had : [had]), value];
  }
  return out;
}

function get(
  url: URL,
  headers: ReadonlyArray<readonly [string, string]>,
  signal: AbortSignal,
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const agent = agentsOnce()[url.protocol as "http:" | "https:"];
    if (agent === undefined) {
      reject(new Error(`unsupported protocol ${url.protocol}`));
      return;
    }
    const module = url.protocol === "https:" ? lazyHttps() : lazyHttp();
    const request = module.request(url, {
      method: "GET",
      agent,
      signal,
      headers: headerObject(headers),
    });
    request.on("response", resolve);
    request.on("error", reject);
    request.end();
  });
}

/**
 * `node:http`/`node:https` with kept-alive connections. Redirects are
 * followed; headers given for one origin are not sent to another, as
 * `fetch` drops `Authorization` on a cross-origin redirect.
 */
export const nodeModuleTransport: HttpTransport = async (url, headers, signal) => {
  let target = new URL(url);
  let sent = headers;
  for (let hop = 0; ; hop++) {
    const res = await get(target, sent, signal);
    const location = res.headers.location;
    const redirect = [301, 302, 303, 307, 308].includes(res.statusCode ?? 0);
    if (!redirect || location === undefined || hop >= MAX_REDIRECTS) return answer(res);
    res.resume();
    const next = new URL(location, target);
    if (next.origin !== target.origin)
      sent = sent.filter(([name]) => /^(range|accept-encoding)$/i.test(name));
    target = next;
  }
};

/**
 * The Node entry's `HttpTransport`: `http:` URLs on raw kept-alive sockets
 * that read response bodies straight into the reader's buffers (node:http's
 * parser and per-chunk buffers cost more CPU than the hashing of what they
 * carry), everything else (`https:`, redirects, chunked answers) on
 * `node:http`/`node:https`, as {@link nodeModuleTransport}.
 *
 * @example
 * ```ts
 * const source = await httpSource(url, { transport: nodeHttpTransport });
 * ```
 */
export const nodeHttpTransport: HttpTransport = rawHttpTransport(nodeModuleTransport);
