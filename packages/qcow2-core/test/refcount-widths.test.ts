import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { qemuOrSkipReason } from "../../../fixtures/harness/index.js";
import { inspect, memorySource, RefcountTable, refcountReport } from "../src/index.js";

// Live: QEMU judges our refcount packing. For every width, zero the stored
// refcount of one data cluster; qemu-img check must name the same cluster we do.
const skip = qemuOrSkipReason();
const WIDTHS = [1, 2, 4, 8, 16, 32, 64];

/** Clears entry `index` of a refcount block of width 2^order (LSB-first below 8 bits). */
function clearRefcount(block: Uint8Array, index: number, order: number): void {
  const bits = 2 ** order;
  if (bits < 8) {
    const bit = index * bits;
    const at = bit >> 3;
    block[at] = (block[at] ?? 0) & ~(((1 << bits) - 1) << (bit & 7));
  } else {
    block.fill(0, (index * bits) / 8, ((index + 1) * bits) / 8);
  }
}

function qemuOrphans(path: string): number[] {
  const r = spawnSync("qemu-img", ["check", path], { encoding: "utf8" });
  return [...`${r.stdout}${r.stderr}`.matchAll(/ERROR cluster (\d+) refcount=0 reference=1/g)].map(
    (m) => Number(m[1]),
  );
}

describe.skipIf(skip !== undefined)("refcount widths against qemu-img check (live)", () => {
  const dir = mkdtempSync(join(tmpdir(), "qcow2-refcount-"));
  for (const width of WIDTHS) {
    it(`${width}-bit refcounts: a poked zero is the orphan QEMU reports`, async () => {
      const path = join(dir, `rc${width}.qcow2`);
      execFileSync("qemu-img", [
        "create",
        "-q",
        "-f",
        "qcow2",
        "-o",
        `cluster_size=4k,refcount_bits=${width}`,
        path,
        "1M",
      ]);
      execFileSync("qemu-io", ["-c", "write -P 0x5a 8k 12k", path], { stdio: "ignore" });

      const clean = new Uint8Array(readFileSync(path));
      const before = await refcountReport(memorySource(clean));
      expect(before.orphanClusters).toBe(0);
      expect(before.allocatedClusters).toBe(3);
      expect(qemuOrphans(path)).toEqual([]);

      // Pick the middle data cluster through our own mapping; QEMU then judges the poke.
      const info = await inspect(memorySource(clean));
      const dataClusters = (await dataClusterOffsets(clean)).sort((a, b) => a - b);
      expect(dataClusters).toHaveLength(3);
      const clusterIndex = (dataClusters[1] as number) / 4096;
      const table = await RefcountTable.load(memorySource(clean), info);
      const blockOffset = table.blockOffset(Math.floor(clusterIndex / table.perBlock));
      const poked = clean.slice();
      clearRefcount(
        poked.subarray(blockOffset, blockOffset + 4096),
        clusterIndex % table.perBlock,
        info.refcountOrder,
      );
      writeFileSync(path, poked);

      const ours = (await refcountReport(memorySource(poked))).orphans.map(
        (o) => o.hostOffset / 4096,
      );
      expect(ours).toEqual([clusterIndex]);
      expect(qemuOrphans(path)).toEqual(ours);
    });
  }
});

/** Host offsets of the allocated data clusters: the orphans of a copy whose refcount blocks are all cleared. */
async function dataClusterOffsets(bytes: Uint8Array): Promise<number[]> {
  const info = await inspect(memorySource(bytes));
  const table = await RefcountTable.load(memorySource(bytes), info);
  const copy = bytes.slice();
  for (let i = 0; i < table.entries; i++) {
    const block = table.blockOffset(i);
    if (block !== 0) copy.fill(0, block, block + (info.clusterSize as number));
  }
  return (await refcountReport(memorySource(copy))).orphans.map((o) => o.hostOffset);
}
