import { check, inspect, readSnapshots, SnapshotDivergence } from "@x/qcow2-core";
import { openFileSource } from "@x/qcow2-core/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { qemuOrSkipReason } from "../../../fixtures/harness/index.js";
import {
  buildSnapshotStatesFolder,
  type SnapshotStatesFolder,
} from "../../../fixtures/harness/snapshot-states.js";
import { auditDivergence } from "../src/audit-divergence.js";

// The audit measures every snapshot's divergence from what its consistency check read. Its
// findings must be the very ones measuring each snapshot anew (metadata views, a diff each)
// gives, on images qemu-img and qemu-io wrote.
const skip = qemuOrSkipReason();

describe.skipIf(skip !== undefined)("QCOW2-DIVERGENCE learnt during the check", () => {
  let folder: SnapshotStatesFolder | undefined;
  beforeAll(() => {
    folder = buildSnapshotStatesFolder("qcow2-divergence-");
  }, 120_000);
  afterAll(() => folder?.remove());

  it("every image: the same findings as measuring each snapshot anew", async () => {
    const images = folder?.images ?? [];
    expect(images.length).toBeGreaterThan(0);
    for (const image of images) {
      const source = await openFileSource(image.path);
      try {
        const info = await inspect(source);
        const table = await readSnapshots(source, info);
        const learnt = SnapshotDivergence.of(info, source.size);
        expect(learnt).not.toBeNull();
        await check(source, info, { snapshots: table, onTable: learnt?.visit });
        const anew = await auditDivergence(source, info, table.snapshots);
        expect(anew.length).toBe(table.snapshots.length);
        expect(anew.every((a) => a.code === "QCOW2-DIVERGENCE" && (a.extents ?? 0) > 0)).toBe(true);
        expect(await auditDivergence(source, info, table.snapshots, learnt)).toEqual(anew);
      } finally {
        await source.close();
      }
    }
  });
});
