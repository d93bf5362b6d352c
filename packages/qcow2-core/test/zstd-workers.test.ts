import { existsSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { loadFixtureSet } from "../../../fixtures/harness/index.js";
import { isQcow2Error, memorySource, Qcow2Image } from "../src/index.js";
import { ZstdWorkerPool } from "../src/node.js";
import { diskSha256 } from "./disk-sha.js";
import { fixtureBytes } from "./poke.js";

// The worker script is a build output: `pnpm test` builds first (turbo), as CI does.
const BUILT = new URL("../dist/zstd-worker.js", import.meta.url);
const set = loadFixtureSet();
const expected = set.answerText("zstd", "raw.sha256")?.trim();
const pools: ZstdWorkerPool[] = [];
afterAll(async () => {
  for (const p of pools) await p.close();
});

async function shaWith(pool: ZstdWorkerPool, bytes = fixtureBytes("zstd")): Promise<string> {
  const image = await Qcow2Image.open(memorySource(bytes), { zstd: pool });
  try {
    return await diskSha256(image);
  } finally {
    await image.close();
  }
}

describe("zstd on worker threads", () => {
  it("the worker script is built", () => {
    expect(existsSync(BUILT)).toBe(true);
  });

  it("decodes the zstd fixture as qemu-img convert does, on workers", async () => {
    const pool = new ZstdWorkerPool({ workerUrl: BUILT, threads: 2 });
    pools.push(pool);
    expect(expected).toMatch(/^[0-9a-f]{64}$/);
    expect(await shaWith(pool)).toBe(expected);
    expect(pool.usingWorkers).toBe(true);
  });

  it("without the worker script it decodes on this thread, with the same answer", async () => {
    const pool = new ZstdWorkerPool({ workerUrl: new URL("./no-such-worker.js", BUILT) });
    pools.push(pool);
    expect(await shaWith(pool)).toBe(expected);
    expect(pool.usingWorkers).toBe(false);
  });

  it("a frame a worker cannot decode is DECOMPRESSION_FAILED, and the workers keep working", async () => {
    const pool = new ZstdWorkerPool({ workerUrl: BUILT, threads: 1 });
    pools.push(pool);
    const bytes = fixtureBytes("zstd");
    // Every zstd frame's block header turned to garbage.
    const magic = [0x28, 0xb5, 0x2f, 0xfd];
    let damaged = 0;
    for (let i = 0; i + 12 < bytes.length; i++) {
      if (magic.every((m, k) => bytes[i + k] === m)) {
        bytes.fill(0xff, i + 6, i + 12);
        damaged++;
      }
    }
    expect(damaged).toBeGreaterThan(0);
    const error = await shaWith(pool, bytes).catch((e: unknown) => e);
    expect(isQcow2Error(error) && error.code).toBe("DECOMPRESSION_FAILED");
    expect(await shaWith(pool)).toBe(expected);
    expect(pool.usingWorkers).toBe(true);
  });
});
