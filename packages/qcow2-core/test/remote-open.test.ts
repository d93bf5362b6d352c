import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EvidenceServer, startEvidenceServer } from "../../../fixtures/harness/http-server.js";
import { FIXTURES_DIR, qemuOrSkipReason } from "../../../fixtures/harness/index.js";
import { isQcow2Error, type Qcow2Image } from "../src/index.js";
import { openImage } from "../src/node.js";

// openImage on a URL: the chain resolves against the URL, headers stay with their origin, and
// a local image's names never reach the network.

const dir = mkdtempSync(join(tmpdir(), "qcow2-remote-open-"));
const other = mkdtempSync(join(tmpdir(), "qcow2-remote-other-"));
for (const f of ["overlay.qcow2", "base.qcow2", "external-data.qcow2", "external-data.raw"])
  copyFileSync(join(FIXTURES_DIR, "images", f), join(dir, f));
copyFileSync(join(FIXTURES_DIR, "images", "base.qcow2"), join(other, "base.qcow2"));

let a: EvidenceServer;
let b: EvidenceServer;
beforeAll(async () => {
  a = await startEvidenceServer(dir);
  b = await startEvidenceServer(other);
});
afterAll(async () => {
  await a.close();
  await b.close();
});

async function diskSha(image: Qcow2Image): Promise<string> {
  const hash = createHash("sha256");
  for await (const { length, bytes } of image.chunks())
    hash.update(bytes ?? new Uint8Array(length));
  await image.close();
  return hash.digest("hex");
}

describe("openImage on a URL", () => {
  for (const name of ["overlay.qcow2", "external-data.qcow2"]) {
    it(`${name}: relative backing and data files come from the URL's folder, bytes as the file`, async () => {
      a.reset();
      const remote = await diskSha(await openImage(a.url(name)));
      expect(remote).toBe(await diskSha(await openImage(join(dir, name))));
      const paths = new Set(a.log.map((r) => r.path));
      expect(paths.size).toBe(2);
    });
  }

  const skip = qemuOrSkipReason();
  describe.skipIf(skip !== undefined)("a backing file named by URL on another origin", () => {
    it("is fetched without the headers given for the image's own origin", async () => {
      const top = join(dir, "cross-origin.qcow2");
      // -u: qemu-img records the name without opening it.
      execFileSync("qemu-img", [
        "create",
        "-q",
        "-f",
        "qcow2",
        "-u",
        "-b",
        b.url("base.qcow2"),
        "-F",
        "qcow2",
        top,
        "1M",
      ]);
      a.reset();
      b.reset();
      const image = await openImage(a.url("cross-origin.qcow2"), {
        http: { headers: { Authorization: "Bearer for-a-only" } },
      });
      await image.read(0, 4096);
      await image.close();
      expect(a.log.every((r) => r.headers.authorization === "Bearer for-a-only")).toBe(true);
      expect(b.log.length).toBeGreaterThan(0);
      expect(b.log.some((r) => r.headers.authorization !== undefined)).toBe(false);
    });

    it("is not fetched at all when the image is a local file", async () => {
      b.reset();
      let code: string | undefined;
      try {
        await openImage(join(dir, "cross-origin.qcow2"));
      } catch (e) {
        code = isQcow2Error(e) ? e.code : String(e);
      }
      expect(code).toBe("BACKING_NOT_FOUND");
      expect(b.log).toHaveLength(0);
    });
  });
});
