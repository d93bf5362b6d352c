import type { ByteSource } from "@x/qcow2-core";
import { openFileSource } from "@x/qcow2-core/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { qemuOrSkipReason } from "../../../fixtures/harness/index.js";
import {
  buildSnapshotStatesFolder,
  type SnapshotStatesFolder,
} from "../../../fixtures/harness/snapshot-states.js";
import {
  examineImage,
  type GuestOpener,
  type GuestState,
  type KnownImage,
  qcow2GuestOpener,
} from "../src/index.js";

// The audit hands the guest opener the header and snapshot table it decoded: opening each state
// of an image of thousands of snapshots must not decode the table again. The findings stay those
// of an opener that reads everything itself.
const skip = qemuOrSkipReason();

/** The source, recording each read's byte range. */
function recording(source: ByteSource, reads: Array<[number, number]>): ByteSource {
  return {
    name: source.name,
    size: source.size,
    read: (p, l) => {
      reads.push([p, l]);
      return source.read(p, l);
    },
    ...(source.readIntoSync === undefined
      ? {}
      : {
          readIntoSync: (t: Uint8Array, p: number) => {
            reads.push([p, t.length]);
            return (source.readIntoSync as NonNullable<ByteSource["readIntoSync"]>)(t, p);
          },
        }),
  };
}

const NOW = new Date("2030-01-01T00:00:00Z");

describe.skipIf(skip !== undefined)("the guest opener and the audit's snapshot table", () => {
  let folder: SnapshotStatesFolder | undefined;
  beforeAll(() => {
    folder = buildSnapshotStatesFolder("qcow2-guest-known-");
  }, 120_000);
  afterAll(() => folder?.remove());

  it("every state opens with the table the audit read, and the findings are unchanged", async () => {
    const images = folder?.images ?? [];
    expect(images.length).toBeGreaterThan(0);
    for (const image of images) {
      const source = await openFileSource(image.path);
      try {
        const given: Array<{ state: GuestState; known: KnownImage | undefined }> = [];
        const reads: Array<[number, number]> = [];
        const inner = qcow2GuestOpener(recording(source, reads));
        const listening: GuestOpener = (state, known) => {
          given.push({ state, known });
          return inner(state, known);
        };
        const exam = await examineImage(source, { now: NOW, guest: listening });
        const table = exam.snapshots;
        expect(table?.snapshots.length, image.name).toBeGreaterThan(1);
        // The active disk and every snapshot state looked inside.
        expect(given.length, image.name).toBe(1 + (table?.snapshots.length ?? 0));
        for (const g of given) {
          expect(g.known?.snapshots, image.name).toBe(table);
          expect(g.known?.info, image.name).toBe(exam.info);
        }
        const start = exam.info.snapshotsOffset;
        const end = start + (table?.tableBytes ?? 0);
        const inTable = (rs: Array<[number, number]>) =>
          rs.filter(([p, l]) => p < end && p + l > start).length;
        expect(inTable(reads), image.name).toBe(0);

        // An opener that is told nothing reads the table itself, and finds the same.
        const ownReads: Array<[number, number]> = [];
        const own = qcow2GuestOpener(recording(source, ownReads));
        const deaf: GuestOpener = (state) => own(state);
        const anew = await examineImage(source, { now: NOW, guest: deaf });
        expect(inTable(ownReads), image.name).toBeGreaterThan(0);
        expect(exam.anomalies, image.name).toEqual(anew.anomalies);
      } finally {
        await source.close();
      }
    }
  });
});
