import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { qemuOrSkipReason } from "../../../fixtures/harness/index.js";
import {
  buildSnapshotStatesFolder,
  type SnapshotStatesFolder,
  type SnapshotStatesImage,
} from "../../../fixtures/harness/snapshot-states.js";
import {
  type CheckTableVisit,
  check,
  type DiskView,
  diffSummariesAgainst,
  inspect,
  isQcow2Error,
  metadataView,
  type Qcow2Info,
  readSnapshots,
  SnapshotDivergence,
  type SnapshotTable,
} from "../src/index.js";
import { openFileSource } from "../src/node.js";
import { walkSummary } from "../src/reader/diff.js";
import { poke } from "./poke.js";

// The audit learns each snapshot's divergence from the tables `check` reads, and summarises
// metadata diffs table by table. Both must answer exactly what walking the two metadata views
// range by range answers (the walk the diff suites check against qemu-img's exports).
const skip = qemuOrSkipReason();

interface Opened {
  info: Qcow2Info;
  table: SnapshotTable;
  learnt: SnapshotDivergence;
  source: Awaited<ReturnType<typeof openFileSource>>;
}

async function openLearnt(path: string): Promise<Opened> {
  const source = await openFileSource(path);
  const info = await inspect(source);
  const table = await readSnapshots(source, info);
  const learnt = SnapshotDivergence.of(info, source.size);
  if (learnt === null) throw new Error(`${path}: no collector`);
  await check(source, info, { snapshots: table, onTable: learnt.visit });
  return { info, table, learnt, source };
}

/** The walk's answer, or the code of the typed error it ends in. */
async function walked(before: () => Promise<DiskView>, now: DiskView) {
  try {
    const { stats, first } = await walkSummary(await before(), now, { metadataOnly: true });
    return {
      extents: stats.extents,
      changedBytes: stats.changedBytes,
      first: first === null ? null : { start: first.start, length: first.length },
    };
  } catch (e) {
    if (isQcow2Error(e)) return { error: e.code };
    throw e;
  }
}

/** L2 tables in which two views' mappings differ. */
function differing(a: DiskView, b: DiskView): number {
  const ta = a.layers[0];
  const tb = b.layers[0];
  const span = ta?.mappingTableSpan as number;
  let n = 0;
  for (let at = 0; at < Math.max(a.virtualSize, b.virtualSize); at += span)
    if (ta?.mappingTableAt?.(at) !== tb?.mappingTableAt?.(at)) n++;
  return n;
}

describe.skipIf(skip !== undefined)("snapshot divergence learnt from check's tables", () => {
  let folder: SnapshotStatesFolder | undefined;
  beforeAll(() => {
    folder = buildSnapshotStatesFolder("qcow2-snapshot-divergence-");
  }, 120_000);
  afterAll(() => folder?.remove());
  const named = (name: string) =>
    folder?.images.find((i) => i.name === name) as SnapshotStatesImage;

  it("a first extent that crosses an L2 table boundary is one extent, whole", async () => {
    const image = named("boundary");
    const { info, table, learnt, source } = await openLearnt(image.path);
    try {
      const active = await metadataView(source, info, null);
      expect(table.snapshots.length).toBe(2);
      for (const s of table.snapshots) {
        const truth = await walked(() => metadataView(source, info, s), active);
        // The image is built so that the first extent crosses the boundary at 2 MiB (the walk
        // coalesces it there); the collector must give it whole too.
        const first = (truth as { first: { start: number; length: number } }).first;
        expect(first.start < 2 * 2 ** 20 && first.start + first.length > 2 * 2 ** 20).toBe(true);
        expect(learnt.summary(s)).toEqual(truth);
      }
    } finally {
      await source.close();
    }
  });

  for (const name of ["varied", "v2", "boundary", "reverted"]) {
    it(`${name}: every snapshot's summary equals the walk, with and without the check`, async () => {
      const image = named(name);
      const { info, table, learnt, source } = await openLearnt(image.path);
      try {
        expect(table.snapshots.length).toBeGreaterThanOrEqual(2);
        const active = await metadataView(source, info, null);
        const against = diffSummariesAgainst(active);
        let changed = 0;
        for (const s of table.snapshots) {
          const view = () => metadataView(source, info, s, { shareTablesWith: active });
          const truth = await walked(view, active);
          expect("error" in truth, image.commands.join("\n")).toBe(false);
          // Learnt from the check: the collector answers for every snapshot of a sound image.
          expect(learnt.summary(s), `snapshot ${s.name}`).toEqual(truth);
          expect(learnt.differingTables(s)).toBe(differing(await view(), active));
          // Table by table over the views, each pair compared once across snapshots.
          const { stats, first } = await against(await view());
          expect({
            extents: stats.extents,
            changedBytes: stats.changedBytes,
            first: first === null ? null : { start: first.start, length: first.length },
          }).toEqual(truth);
          changed += (truth as { extents: number }).extents;
        }
        // The images differ from their snapshots in many places: nothing here is vacuous.
        expect(changed).toBeGreaterThanOrEqual(table.snapshots.length);
      } finally {
        await source.close();
      }
    });
  }

  it("the check's report is the same with the collector listening", async () => {
    const image = named("varied");
    const source = await openFileSource(image.path);
    try {
      const info = await inspect(source);
      const visits: CheckTableVisit["level"][] = [];
      const listened = await check(source, info, { onTable: (v) => visits.push(v.level) });
      expect(listened).toEqual(await check(source, info));
      expect(visits.filter((l) => l === 1).length).toBe(info.snapshotCount + 1);
    } finally {
      await source.close();
    }
  });

  it("each L2 table read comes with exactly its entries that have a non-zero word", async () => {
    let listed = 0;
    for (const image of folder?.images ?? []) {
      const source = await openFileSource(image.path);
      try {
        const info = await inspect(source);
        await check(source, info, {
          onTable: (v) => {
            if (v.level !== 2 || v.bytes === null) return;
            const view = new DataView(v.bytes.buffer, v.bytes.byteOffset, v.bytes.byteLength);
            const expected: number[] = [];
            for (let i = 0; i < v.bytes.length / 8; i++)
              if (view.getUint32(i * 8) !== 0 || view.getUint32(i * 8 + 4) !== 0) expected.push(i);
            expect(
              [...(v.nonZero ?? [])],
              `${image.name} table 0x${v.offset.toString(16)}`,
            ).toEqual(expected);
            listed += expected.length;
          },
        });
      } finally {
        await source.close();
      }
    }
    expect(listed).toBeGreaterThan(100);
  });

  it("a snapshot table entry the reader refuses leaves that snapshot to the walk, which refuses it too", async () => {
    const image = named("varied");
    const path = join((folder as SnapshotStatesFolder).dir, "poked.qcow2");
    copyFileSync(image.path, path);
    // Find an entry of a table only the first snapshot has that differs from the active one.
    const plain = await openLearnt(image.path);
    const first = plain.table.snapshots[0];
    if (first === undefined) throw new Error("no snapshot");
    const active = await metadataView(plain.source, plain.info, null);
    const before = await metadataView(plain.source, plain.info, first);
    const span = active.layers[0]?.mappingTableSpan as number;
    let entryAt = -1;
    for (let at = 0; at < active.virtualSize && entryAt < 0; at += span) {
      const x = before.layers[0]?.mappingTableAt?.(at) as number;
      if (x === 0 || x === active.layers[0]?.mappingTableAt?.(at)) continue;
      const mine = (await before.layers[0]?.mappingEntries?.(at))?.bytes.slice();
      const theirs = (await active.layers[0]?.mappingEntries?.(at))?.bytes;
      for (let j = 0; mine && theirs && j < mine.length; j += 8) {
        const word = new DataView(mine.buffer).getBigUint64(j);
        const data = (word & (1n << 62n)) === 0n && (word & 0x00fffffffffffe00n) !== 0n;
        if (data && word !== new DataView(theirs.buffer, theirs.byteOffset).getBigUint64(j)) {
          entryAt = x + j;
          break;
        }
      }
    }
    await plain.source.close();
    expect(entryAt).toBeGreaterThan(0);
    const bytes = new Uint8Array(readFileSync(path));
    const word = new DataView(bytes.buffer).getBigUint64(entryAt);
    writeFileSync(path, poke(bytes, entryAt, 8, word + 512n));
    const poked = await openLearnt(path);
    try {
      const now = await metadataView(poked.source, poked.info, null);
      let refused = 0;
      for (const s of poked.table.snapshots) {
        const truth = await walked(() => metadataView(poked.source, poked.info, s), now);
        if (s === poked.table.snapshots[0]) expect(truth).toEqual({ error: "INVALID_STRUCTURE" });
        // Refused by the walk (the poked table may be shared by later snapshots too): no answer.
        if ("error" in truth) {
          refused++;
          expect(poked.learnt.summary(s)).toBeNull();
        } else expect(poked.learnt.summary(s)).toEqual(truth);
      }
      expect(refused).toBeLessThan(poked.table.snapshots.length);
    } finally {
      await poked.source.close();
    }
  });
});
