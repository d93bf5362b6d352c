import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EvidenceServer, startEvidenceServer } from "../../../fixtures/harness/http-server.js";
import { qemuOrSkipReason } from "../../../fixtures/harness/index.js";
import { explain, parseJsonOutput, runCliAsync } from "./run-cli.js";

// Guests of 64 MiB and more read over HTTP are hashed on a worker thread
// (src/hash-thread/); local files on the main thread. The fixtures are
// smaller, so these images are made here by qemu-img/qemu-io and graded, both
// ways, by the SHA-256 of `qemu-img convert -O raw`.
const skip = qemuOrSkipReason();

describe.skipIf(skip !== undefined)(
  "hash of a large guest over HTTP, digested on a worker thread",
  () => {
    let dir: string;
    let server: EvidenceServer;
    const raw: Record<string, { sha256: string; md5: string }> = {};

    const qemuIo = (image: string, command: string) =>
      execFileSync("qemu-io", ["-f", "qcow2", "-c", command, image], { stdio: "ignore" });

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), "qcow2-hash-threaded-"));
      // Data at the start and the end, a compressed cluster, a zeroed range, and
      // a long unallocated run between them (chunks with and without bytes).
      const plain = join(dir, "plain.qcow2");
      execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", plain, "200M"]);
      qemuIo(plain, "write -P 0x11 0 5M");
      qemuIo(plain, "write -P 0x22 67M 3M");
      qemuIo(plain, "write -c -P 0x33 100M 64k");
      qemuIo(plain, "write -z 120M 8M");
      qemuIo(plain, `write -P 0x44 ${200 * 1024 * 1024 - 4096} 4096`);
      // An overlay over it: two layers resolved per chunk.
      const overlay = join(dir, "overlay.qcow2");
      execFileSync("qemu-img", [
        "create",
        "-q",
        "-f",
        "qcow2",
        "-F",
        "qcow2",
        "-b",
        "plain.qcow2",
        overlay,
      ]);
      qemuIo(overlay, "write -P 0x55 4M 2M");
      for (const name of ["plain", "overlay"]) {
        const out = join(dir, `${name}.raw`);
        execFileSync("qemu-img", ["convert", "-O", "raw", join(dir, `${name}.qcow2`), out]);
        const bytes = readFileSync(out);
        raw[name] = {
          sha256: createHash("sha256").update(bytes).digest("hex"),
          md5: createHash("md5").update(bytes).digest("hex"),
        };
        rmSync(out);
      }
      server = await startEvidenceServer(dir);
    }, 120_000);

    afterAll(async () => {
      await server?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    for (const name of ["plain", "overlay"]) {
      it(`${name}: the file's and the URL's digests are qemu-img's raw disk's`, async () => {
        for (const where of [join(dir, `${name}.qcow2`), server.url(`${name}.qcow2`)]) {
          const r = await runCliAsync(["hash", "--json", "--quiet", "-a", "sha256,md5", where]);
          expect(r.code, explain(r)).toBe(0);
          const out = parseJsonOutput(r);
          expect(out["virtual-size"]).toBe(200 * 1024 * 1024);
          expect(out.guest).toEqual(raw[name]);
        }
      });
    }

    it("a server that drops connections mid-body changes nothing", async () => {
      server.mode = { dropEvery: 7 };
      try {
        const r = await runCliAsync(["hash", "--json", "--quiet", server.url("plain.qcow2")]);
        expect(r.code, explain(r)).toBe(0);
        expect(parseJsonOutput(r).guest.sha256).toBe(raw.plain?.sha256);
      } finally {
        server.mode = {};
      }
    });
  },
);
