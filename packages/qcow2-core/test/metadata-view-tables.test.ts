import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { qemuOrSkipReason } from "../../../fixtures/harness/index.js";
import {
  diffDisks,
  diffSummary,
  inspect,
  metadataView,
  type Qcow2Info,
  readSnapshots,
} from "../src/index.js";
import { type FileSource, openFileSource } from "../src/node.js";
import { TableCache } from "../src/reader/table-cache.js";
import { unshared } from "./unshared-view.js";

describe("TableCache", () => {
  const table = (fill: number) => new DataView(new Uint8Array(16).fill(fill).buffer);

  it("hands back an evicted table's buffer only when it recycles", () => {
    const recycling = new TableCache(2, true);
    const plain = new TableCache(2, false);
    for (const cache of [recycling, plain]) for (let i = 0; i < 3; i++) cache.set(i * 16, table(i));
    expect(recycling.evictions).toBe(1);
    expect(plain.evictions).toBe(1);
    expect(plain.reusable(16)).toBeUndefined();
    const spare = recycling.reusable(16);
    // The evicted (least recently used) table: offset 0, filled with 0s; no longer cached.
    expect(spare).toEqual(new Uint8Array(16));
    expect(recycling.has(0)).toBe(false);
    expect(recycling.reusable(16)).toBeUndefined();
    expect(recycling.get(32)?.getUint8(0)).toBe(2);
  });
});

// Metadata views of many snapshots share one table cache (and recycle evicted tables): on an
// image with far more L2 tables than the cache holds, every snapshot's metadata-only diff against
// the active disk must be exactly the plain walk's (separate views, every range resolved).
const skip = qemuOrSkipReason();

describe.skipIf(skip !== undefined)("metadata views sharing and recycling L2 tables", () => {
  const dir = mkdtempSync(join(tmpdir(), "qcow2-view-tables-"));
  const file = join(dir, "many-tables.qcow2");
  let source: FileSource;
  let info: Qcow2Info;
  beforeAll(async () => {
    // 64 MiB at 4 KiB clusters: 32 L2 tables per state. Every round writes into all of them
    // (each is copied on write), so 6 snapshots and the active disk hold ~220 distinct tables,
    // far past the cache's 64: tables are evicted and their buffers reused along the way.
    const sh = (cmd: string, args: string[]) =>
      execFileSync(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });
    sh("qemu-img", ["create", "-q", "-f", "qcow2", "-o", "cluster_size=4096", file, "64M"]);
    for (let round = 1; round <= 7; round++) {
      const writes: string[] = [];
      for (let t = 0; t < 32; t++) {
        const offset = t * 2 * 2 ** 20 + ((round * 37 + t * 11) % 512) * 4096;
        writes.push("-c", `write -q -P ${round} ${offset} 4k`);
      }
      sh("qemu-io", ["-f", "qcow2", ...writes, file]);
      if (round < 7) sh("qemu-img", ["snapshot", "-c", `s${round}`, file]);
    }
    source = await openFileSource(file);
    info = await inspect(source);
  }, 120_000);
  afterAll(async () => {
    await source?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("every snapshot's metadata-only diff equals the plain walk's", async () => {
    const snapshots = (await readSnapshots(source, info)).snapshots;
    expect(snapshots.length).toBe(6);
    const active = await metadataView(source, info, null);
    const plainActive = unshared(await metadataView(source, info, null));
    for (const s of snapshots) {
      const before = await metadataView(source, info, s, { shareTablesWith: active });
      const plain = await diffDisks(unshared(await metadataView(source, info, s)), plainActive, {
        metadataOnly: true,
      });
      // Writes since the snapshot: at least one changed cluster per table per later round.
      expect(plain.extents.length).toBeGreaterThanOrEqual(32);
      const summary = await diffSummary(before, active, { metadataOnly: true });
      expect(summary.stats).toEqual(plain.stats);
      expect(summary.first).toEqual(plain.extents[0]);
      const streamed = await diffDisks(before, active, { metadataOnly: true });
      expect(streamed.extents).toEqual(plain.extents);
    }
  });
});
