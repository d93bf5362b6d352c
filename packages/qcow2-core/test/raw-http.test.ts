import { randomBytes } from "node:crypto";
import { type AddressInfo, createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { type HttpSourceOptions, httpSource } from "../src/index.js";
import { nodeHttpTransport } from "../src/node.js";
import { headEnd, parseResponseHead } from "../src/node-http/response-head.js";
import { typedFailure as failure } from "./typed-failure.js";

// The Node entry's raw HTTP/1.1 client against a scripted TCP server: every byte the server
// sends, and when, is the test's, so splits, early closes and malformed heads are exact.

const blob = randomBytes(300_000);
const SECRET = "s3cr3t-token-value";

/** One request as the server read it. */
interface Seen {
  connection: number;
  head: string;
  start: number;
  end: number;
}

/** How the scripted server answers a request (`n` counts requests, from 0). */
type Script = (answer: Answer, socket: Socket, n: number, seen: Seen) => Promise<void> | void;

interface Answer {
  head: string;
  body: Buffer;
}

/** The honest answer to a Range request for `blob`. */
function partial(seen: Seen, extraHeaders = ""): Answer {
  const body = blob.subarray(seen.start, seen.end + 1);
  return {
    head:
      `HTTP/1.1 206 Partial Content\r\nContent-Length: ${body.length}\r\n` +
      `Content-Range: bytes ${seen.start}-${seen.start + body.length - 1}/${blob.length}\r\n` +
      `ETag: "v1"\r\n${extraHeaders}\r\n`,
    body,
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Scripted {
  url: string;
  seen: Seen[];
  connections: number;
}

const servers: Array<{ server: Server; sockets: Set<Socket> }> = [];
afterEach(async () => {
  for (const { server, sockets } of servers.splice(0)) {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  }
});

/** A server on 127.0.0.1 (a new origin for each test) answering each request through `script`. */
async function scripted(script: Script): Promise<Scripted> {
  const state: Scripted = { url: "", seen: [], connections: 0 };
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    const connection = state.connections++;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => undefined);
    socket.setNoDelay(true);
    let buffered = Buffer.alloc(0);
    let busy = Promise.resolve();
    socket.on("data", (data) => {
      buffered = Buffer.concat([buffered, data]);
      for (let end = buffered.indexOf("\r\n\r\n"); end >= 0; end = buffered.indexOf("\r\n\r\n")) {
        const head = buffered.subarray(0, end).toString("latin1");
        buffered = buffered.subarray(end + 4);
        const m = /\r\nRange: bytes=(\d+)-(\d+)/i.exec(head);
        const start = Number(m?.[1] ?? 0);
        const last = Math.min(Number(m?.[2] ?? blob.length - 1), blob.length - 1);
        const seen = { connection, head, start, end: last };
        const n = state.seen.length;
        state.seen.push(seen);
        busy = busy.then(() => script(partial(seen), socket, n, seen));
      }
    });
  });
  servers.push({ server, sockets });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/blob.bin`;
  return state;
}

const whole = (a: Answer) => Buffer.concat([Buffer.from(a.head, "latin1"), a.body]);

const fast: HttpSourceOptions = {
  transport: nodeHttpTransport,
  retryDelay: 1,
  maxRetryDelay: 5,
  blockSize: 4096,
};

/** Reads a few ranges, large and small, and checks every byte. */
async function readsExactly(url: string, options: HttpSourceOptions = {}) {
  const source = await httpSource(url, { ...fast, ...options });
  expect(source.size).toBe(blob.length);
  for (const [at, n] of [
    [0, 100],
    [5000, 250_000],
    [123_457, 40_000],
    [blob.length - 7, 7],
  ] as const) {
    const got = await source.read(at, n);
    expect(Buffer.from(got).equals(blob.subarray(at, at + n)), `${at}+${n}`).toBe(true);
  }
  const stats = { ...source.stats };
  await source.close();
  return stats;
}

describe("raw HTTP/1.1 client (Node entry, http: URLs)", () => {
  it("keeps one connection alive for requests in sequence", async () => {
    const server = await scripted((a, socket) => {
      socket.write(whole(a));
    });
    const stats = await readsExactly(server.url);
    expect(server.connections).toBe(1);
    expect(stats.retries).toBe(0);
  });

  it("reads a head split into one-byte packets and a body split across packets", async () => {
    const server = await scripted(async (a, socket) => {
      for (const byte of Buffer.from(a.head, "latin1")) {
        socket.write(Buffer.from([byte]));
        await sleep(0);
      }
      for (let at = 0; at < a.body.length; at += 7919) {
        socket.write(a.body.subarray(at, at + 7919));
        await sleep(0);
      }
    });
    const stats = await readsExactly(server.url);
    expect(stats.retries).toBe(0);
  });

  it("sends custom headers, and streams a whole object chunk by chunk", async () => {
    const server = await scripted((a, socket) => {
      socket.write(whole(a));
    });
    const source = await httpSource(server.url, { ...fast, headers: { "X-Token": SECRET } });
    const parts: Uint8Array[] = [];
    for await (const chunk of source.streamObject()) parts.push(chunk);
    expect(Buffer.concat(parts).equals(blob)).toBe(true);
    expect(server.seen.every((s) => s.head.includes(`\r\nX-Token: ${SECRET}`))).toBe(true);
    await source.close();
  });

  it("a server closing each kept-alive connection after its answer: reads go on, unretried", async () => {
    const server = await scripted(async (a, socket) => {
      socket.write(whole(a));
      await sleep(5);
      socket.end();
    });
    const stats = await readsExactly(server.url);
    expect(stats.retries).toBe(0);
    expect(server.connections).toBeGreaterThan(1);
  });

  it("a kept-alive connection closed on the next request, unanswered: sent again on a fresh one", async () => {
    const server = await scripted((a, socket, n, seen) => {
      // Every connection answers its first request only, then hangs up on the second.
      const first = server.seen.findIndex((s) => s.connection === seen.connection) === n;
      if (first) socket.write(whole(a));
      else socket.destroy();
    });
    const stats = await readsExactly(server.url);
    expect(stats.retries).toBe(0);
    expect(server.connections).toBeGreaterThan(2);
  });

  it("Connection: close answers: each request on a new connection", async () => {
    const server = await scripted((_a, socket, _n, seen) => {
      socket.end(whole(partial(seen, "Connection: close\r\n")));
    });
    const stats = await readsExactly(server.url);
    expect(stats.retries).toBe(0);
    expect(server.connections).toBe(server.seen.length);
  });

  it("a body cut short then closed: resumed where it stopped, bytes exact", async () => {
    const server = await scripted((a, socket, n) => {
      if (n % 2 === 1 && a.body.length > 1000) {
        socket.write(Buffer.from(a.head, "latin1"));
        socket.end(a.body.subarray(0, Math.floor(a.body.length / 3)));
      } else socket.write(whole(a));
    });
    const stats = await readsExactly(server.url);
    expect(stats.retries).toBeGreaterThan(0);
  });

  it("bytes past Content-Length never reach the reader", async () => {
    // Read with the body, the extra bytes end the connection; read after it, they are the
    // next request's answer, one that this client leaves to node:http. Either way: exact bytes.
    const server = await scripted((a, socket) => {
      socket.write(Buffer.concat([whole(a), Buffer.from("HTTP/1.1 200 OK\r\n\r\ngarbage")]));
    });
    const stats = await readsExactly(server.url);
    expect(stats.retries).toBe(0);
  });

  it("a chunked answer goes through node:http instead", async () => {
    const server = await scripted((a, socket) => {
      const head = a.head.replace(/Content-Length: \d+\r\n/, "Transfer-Encoding: chunked\r\n");
      const size = a.body.length.toString(16);
      socket.write(
        Buffer.concat([
          Buffer.from(`${head}${size}\r\n`, "latin1"),
          a.body,
          Buffer.from("\r\n0\r\n\r\n"),
        ]),
      );
    });
    await readsExactly(server.url);
  });

  it("a 103 Early Hints before the answer goes through node:http instead", async () => {
    const server = await scripted((a, socket) => {
      socket.write("HTTP/1.1 103 Early Hints\r\nLink: </x>; rel=preload\r\n\r\n");
      socket.write(whole(a));
    });
    await readsExactly(server.url);
  });

  it("a redirect is followed (through node:http)", async () => {
    const server = await scripted((a, socket, _n, seen) => {
      if (seen.head.startsWith("GET /blob.bin "))
        socket.write("HTTP/1.1 302 Found\r\nLocation: /moved.bin\r\nContent-Length: 0\r\n\r\n");
      else socket.write(whole(a));
    });
    await readsExactly(server.url);
    expect(server.seen.some((s) => s.head.startsWith("GET /moved.bin "))).toBe(true);
  });

  const malformedHeads: Array<[string, (a: Answer) => string]> = [
    ["a malformed status line", (a) => a.head.replace("HTTP/1.1 206", "HTTP/1.1 2O6")],
    ["a status line in another protocol", (a) => a.head.replace("HTTP/1.1", "ICY")],
    ["a Content-Length that is not a number", (a) => a.head.replace(/Length: \d+/, "Length: 12x")],
    ["a negative Content-Length", (a) => a.head.replace(/Length: \d+/, "Length: -1")],
    [
      "two different Content-Length headers",
      (a) => a.head.replace(/(Content-Length: \d+\r\n)/, "$1Content-Length: 3\r\n"),
    ],
    ["a bare LF line end", (a) => a.head.replace("\r\nETag", "\nETag")],
    ["a folded header line", (a) => a.head.replace('ETag: "v1"\r\n', 'ETag: "v1"\r\n  more\r\n')],
    [
      "a head over 32 KiB",
      (a) => a.head.replace("\r\n\r\n", `\r\nX-Pad: ${SECRET}${"p".repeat(40_000)}\r\n\r\n`),
    ],
    [
      "more than 200 header lines",
      (a) => a.head.replace("\r\n\r\n", `\r\n${"X-A: 1\r\n".repeat(250)}\r\n`),
    ],
    ["a control byte in a header value", (a) => a.head.replace('"v1"', `"${SECRET}\x01"`)],
  ];
  for (const [what, bad] of malformedHeads) {
    it(`${what}: a typed IO error naming the URL, no value quoted, no retry`, async () => {
      const server = await scripted((a, socket) => {
        socket.write(Buffer.concat([Buffer.from(bad(a), "latin1"), a.body]));
      });
      const e = await failure(httpSource(server.url, fast));
      expect(e.code).toBe("IO");
      expect(e.message).toMatch(/malformed HTTP response/);
      expect(e.message).not.toContain(SECRET);
      expect(e.file).toBe(server.url);
      expect(server.seen.length).toBe(1);
    });
  }

  it("a head that never ends: TIMEOUT, not a hang", async () => {
    const server = await scripted((a, socket) => {
      socket.write(a.head.slice(0, 30));
    });
    const e = await failure(httpSource(server.url, { ...fast, timeout: 100, retries: 1 }));
    expect(e.code).toBe("TIMEOUT");
    expect(server.seen.length).toBe(2);
  });

  it("a connection closed before any answer: IO after the retries", async () => {
    const server = await scripted((_a, socket) => {
      socket.destroy();
    });
    const e = await failure(httpSource(server.url, { ...fast, retries: 2 }));
    expect(e.code).toBe("IO");
    expect(server.seen.length).toBe(3);
  });
});

describe("parseResponseHead", () => {
  const head = (text: string) => {
    const bytes = Buffer.from(text, "latin1");
    return parseResponseHead(bytes, headEnd(bytes));
  };

  it("reads the status, reason and headers, joining repeated names", () => {
    const h = head(
      "HTTP/1.1 206 Partial Content\r\nVary: a\r\nvary:  b \r\nContent-Length: 5\r\n\r\n",
    );
    expect([h.status, h.statusText, h.minorVersion]).toEqual([206, "Partial Content", 1]);
    expect(h.headers.get("vary")).toBe("a, b");
    expect(h.headers.get("content-length")).toBe("5");
  });

  it("accepts an empty reason phrase and HTTP/1.0", () => {
    const h = head("HTTP/1.0 404 \r\n\r\n");
    expect([h.status, h.statusText, h.minorVersion]).toEqual([404, "", 0]);
  });

  it("a Content-Length beyond 2^53 is refused, not rounded", () => {
    expect(() => head("HTTP/1.1 200 OK\r\nContent-Length: 9007199254740993\r\n\r\n")).toThrow(
      /Content-Length/,
    );
  });
});
