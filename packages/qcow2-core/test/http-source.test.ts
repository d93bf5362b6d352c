import { randomBytes } from "node:crypto";
import { closeSync, mkdtempSync, openSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type EvidenceServer, startEvidenceServer } from "../../../fixtures/harness/http-server.js";
import { type HttpSourceOptions, httpSource, redactUrl } from "../src/index.js";
import { nodeHttpTransport } from "../src/node.js";
import { nodeModuleTransport } from "../src/node-http-transport.js";
import { typedFailure as failure } from "./typed-failure.js";

// A real server on 127.0.0.1 (fixtures/harness/http-server.ts) whose own counters say what
// crossed the wire: the budgets below are the server's numbers, not the client's.

const dir = mkdtempSync(join(tmpdir(), "qcow2-http-"));
const blob = randomBytes(3 * 1024 * 1024 + 12345);
writeFileSync(join(dir, "blob.bin"), blob);
writeFileSync(join(dir, "small.bin"), blob.subarray(0, 200_000));
writeFileSync(join(dir, "empty.bin"), new Uint8Array(0));
// 64 MiB, sparse: what a server that ignores Range would start sending whole.
const big = openSync(join(dir, "big.bin"), "w");
writeSync(big, new Uint8Array([1]), 0, 1, 64 * 1024 * 1024 - 1);
closeSync(big);

let server: EvidenceServer;
beforeAll(async () => {
  server = await startEvidenceServer(dir);
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => {
  server.mode = {};
  server.reset();
});

// Each transport in turn: the standard fetch (browsers), the Node entry's (raw sockets for
// http: URLs), and node:http itself (what the Node entry uses for https: and redirects).
for (const [transportName, transport] of [
  ["fetch", undefined],
  ["node entry", nodeHttpTransport],
  ["node:http", nodeModuleTransport],
] as const) {
  const fast: HttpSourceOptions = {
    retryDelay: 1,
    maxRetryDelay: 5,
    ...(transport === undefined ? {} : { transport }),
  };
  const open = (name: string, options: HttpSourceOptions = {}) =>
    httpSource(server.url(name), { ...fast, ...options });

  describe(`httpSource reads (${transportName})`, () => {
    it("returns the file's bytes for any range, aligned or not, up to the end", async () => {
      const source = await open("blob.bin");
      expect(source.size).toBe(blob.length);
      const ranges: Array<[number, number]> = [
        [0, 8],
        [1, 4095],
        [4096, 4096],
        [65_530, 20],
        [100_000, 300_000],
        [blob.length - 10, 100],
        [blob.length, 5],
        [1_000_000, 2_000_000],
      ];
      for (const [at, n] of ranges) {
        const got = await source.read(at, n);
        expect(Buffer.from(got).equals(blob.subarray(at, at + n)), `${at}+${n}`).toBe(true);
      }
      await source.close();
    });

    it("pins the size, ETag and Last-Modified of the first answer", async () => {
      const source = await open("blob.bin");
      const first = server.log[0];
      expect(source.etag).toMatch(new RegExp(`^"${blob.length.toString(16)}-[0-9a-f]+-0"$`));
      expect(source.lastModified).toMatch(/GMT$/);
      expect(first?.range).toBe("bytes=0-65535");
      await source.close();
    });

    it("serves later small reads inside the first block from the cache", async () => {
      const source = await open("blob.bin");
      await source.read(0, 8);
      await source.read(100, 4096);
      await source.read(60_000, 5000);
      expect(server.counts().requests).toBe(1);
      await source.close();
    });

    it("fetches a whole aligned 4 KiB page as asked, without its block", async () => {
      const source = await open("blob.bin");
      server.reset();
      await source.read(4096 * 40, 4096);
      expect(server.counts()).toEqual({ requests: 1, bytes: 4096 });
      await source.close();
    });

    it("widens a small unaligned read to its 64 KiB block and caches it", async () => {
      const source = await open("blob.bin");
      server.reset();
      await source.read(200_000, 512);
      expect(server.counts()).toEqual({ requests: 1, bytes: 65_536 });
      await source.read(196_608 + 70, 600);
      expect(server.counts().requests).toBe(1);
      await source.close();
    });

    it("coalesces adjacent reads issued together into one request", async () => {
      const source = await open("blob.bin");
      server.reset();
      const at = 1024 * 1024;
      const parts = await Promise.all(
        Array.from({ length: 16 }, (_, i) => source.read(at + i * 4096, 4096)),
      );
      expect(server.counts()).toEqual({ requests: 1, bytes: 16 * 4096 });
      expect(Buffer.concat(parts).equals(blob.subarray(at, at + 16 * 4096))).toBe(true);
      await source.close();
    });

    it("reads sequential large reads ahead, and never past the end", async () => {
      const source = await open("blob.bin", { readAhead: 2 });
      server.reset();
      const chunk = 512 * 1024;
      const out: Uint8Array[] = [];
      for (let at = 0; at < blob.length; at += chunk) out.push(await source.read(at, chunk));
      expect(Buffer.concat(out).equals(blob)).toBe(true);
      // Each byte once: the read-ahead fetched what the reads then used.
      expect(server.counts().bytes).toBe(blob.length);
      expect(source.stats.bytesReceived).toBe(blob.length + 65_536);
      await source.close();
    });

    it("streams the whole object once", async () => {
      const source = await open("blob.bin");
      server.reset();
      const parts: Uint8Array[] = [];
      for await (const chunk of source.streamObject()) parts.push(chunk);
      expect(Buffer.concat(parts).equals(blob)).toBe(true);
      expect(server.counts()).toEqual({ requests: 1, bytes: blob.length });
      await source.close();
    });

    it("opens an empty object", async () => {
      const source = await open("empty.bin");
      expect(source.size).toBe(0);
      expect((await source.read(0, 10)).length).toBe(0);
      await source.close();
    });

    it("passes custom headers on every request", async () => {
      const source = await open("blob.bin", { headers: { Authorization: "Bearer s3cret" } });
      await source.read(2_000_000, 100);
      expect(server.log.every((r) => r.headers.authorization === "Bearer s3cret")).toBe(true);
      expect(server.log.length).toBe(2);
      await source.close();
    });

    it("names the object by its URL with the query string redacted", async () => {
      const source = await httpSource(`${server.url("blob.bin")}?X-Amz-Signature=abc`, fast);
      expect(source.name).toBe(`${server.url("blob.bin")}?REDACTED`);
      expect(redactUrl("https://u:p@h.example/a?b=c#d")).toBe(
        "https://REDACTED@h.example/a?REDACTED",
      );
      await source.close();
    });

    it("fails reads after close", async () => {
      const source = await open("blob.bin");
      await source.close();
      expect((await failure(source.read(0, 1))).code).toBe("IO");
    });
  });

  describe(`httpSource against a misbehaving server (${transportName})`, () => {
    it("ignores-Range server, small object: read whole in one request", async () => {
      server.mode = { ignoreRange: true };
      const source = await open("small.bin");
      expect(source.size).toBe(200_000);
      const got = await source.read(150_000, 1000);
      expect(Buffer.from(got).equals(blob.subarray(150_000, 151_000))).toBe(true);
      expect(server.counts().requests).toBe(1);
      await source.close();
    });

    it("ignores-Range server, large object: RANGE_NOT_SUPPORTED without downloading it", async () => {
      server.mode = { ignoreRange: true };
      const stats = { requests: 0, bytesReceived: 0, retries: 0 };
      const e = await failure(open("big.bin", { stats }));
      expect(e.code).toBe("RANGE_NOT_SUPPORTED");
      expect(e.message).toContain("HTTP 200");
      expect(stats.bytesReceived).toBe(0);
      expect(stats.requests).toBe(1);
      // What the server pushed into the socket before the client hung up: a sliver of 64 MiB.
      await new Promise((r) => setTimeout(r, 50));
      expect(server.counts().bytes).toBeLessThan(16 * 1024 * 1024);
    });

    it("ETag that changes during the run: SOURCE_CHANGED", async () => {
      server.mode = { etagChangeAfter: 1 };
      const source = await open("blob.bin");
      const e = await failure(source.read(2_000_000, 10));
      expect(e.code).toBe("SOURCE_CHANGED");
      expect(e.message).toMatch(/ETag changed/);
      await source.close();
    });

    it("every 2nd connection dropped mid-body: reads still exact, resumed after retries", async () => {
      server.mode = { dropEvery: 2 };
      const source = await open("blob.bin");
      const got = await source.read(300_000, 2_000_000);
      expect(Buffer.from(got).equals(blob.subarray(300_000, 2_300_000))).toBe(true);
      expect(source.stats.retries).toBeGreaterThan(0);
      const parts: Uint8Array[] = [];
      for await (const chunk of source.streamObject()) parts.push(chunk);
      expect(Buffer.concat(parts).equals(blob)).toBe(true);
      await source.close();
    });

    it("slow server: TIMEOUT after the retries", async () => {
      server.mode = { delayMs: 300 };
      const started = Date.now();
      const e = await failure(open("blob.bin", { timeout: 50, retries: 1 }));
      expect(e.code).toBe("TIMEOUT");
      expect(server.counts().requests).toBe(2);
      expect(Date.now() - started).toBeLessThan(2000);
    });

    it("slow server within the timeout: answers", async () => {
      server.mode = { delayMs: 30 };
      const source = await open("blob.bin", { timeout: 2000 });
      expect((await source.read(1_000_000, 10)).length).toBe(10);
      await source.close();
    });

    it("caller's AbortSignal: ABORTED, no retry", async () => {
      server.mode = { delayMs: 2000 };
      const controller = new AbortController();
      const opening = open("blob.bin", { signal: controller.signal });
      setTimeout(() => controller.abort(), 50);
      const e = await failure(opening);
      expect(e.code).toBe("ABORTED");
      expect(server.counts().requests).toBe(1);
    });

    for (const status of [403, 404]) {
      it(`${status}: HTTP_STATUS naming the URL and the status, not retried`, async () => {
        server.mode = { status };
        const url = `${server.url("blob.bin")}?sig=abc`;
        const e = await failure(
          httpSource(url, { ...fast, headers: { Authorization: "Bearer s3cret" } }),
        );
        expect(e.code).toBe("HTTP_STATUS");
        expect(e.value).toBe(String(status));
        expect(e.message).toContain(`HTTP ${status}`);
        expect(e.file).toBe(`${server.url("blob.bin")}?REDACTED`);
        expect(`${e.message}${e.file}`).not.toContain("abc");
        expect(`${e.message}${e.file}`).not.toContain("s3cret");
        expect(server.counts().requests).toBe(1);
      });
    }

    it("500 on every request: HTTP_STATUS once the retries are spent", async () => {
      server.mode = { status: 500 };
      const e = await failure(open("blob.bin", { retries: 3 }));
      expect(e.code).toBe("HTTP_STATUS");
      expect(e.message).toContain("HTTP 500");
      expect(server.counts().requests).toBe(4);
    });

    it("503 then 429 with Retry-After: retried, then served", async () => {
      server.mode = { failFirst: { count: 2, status: 503, retryAfter: "0" } };
      const source = await open("blob.bin");
      expect(source.stats.retries).toBe(2);
      server.reset();
      server.mode = { failFirst: { count: 1, status: 429 } };
      expect((await source.read(2_000_000, 4096)).length).toBe(4096);
      expect(server.counts().requests).toBe(2);
      await source.close();
    });

    it("rejects a URL that is not http(s)", async () => {
      expect((await failure(httpSource("ftp://example/x"))).code).toBe("IO");
    });
  });
}
