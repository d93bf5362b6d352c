import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { FixtureEntry, FixtureSet } from "../../../fixtures/harness/index.js";
import { loadFixtureSet, qemuOrphanClusters, stableInfo } from "../../../fixtures/harness/index.js";

/** Which tests apply is decided from the committed answers (a live set has the same entries). */
const COMMITTED = loadFixtureSet();

import {
  check,
  formatQemuMapJson,
  inspect,
  qemuCheckExitCode,
  readBitmaps,
  readLuksHeader,
  readSnapshots,
  toQemuCheckJson,
  toQemuImgInfo,
} from "../src/index.js";
import { openFileSource, openImage } from "../src/node.js";
import { imageSha256 } from "./disk-sha.js";

/** Read options for a fixture: its passphrase (test data next to it) when encrypted. */
function readOptions(set: FixtureSet, entry: FixtureEntry): { passphrase?: Uint8Array } {
  if (entry.passphraseFile === null) return {};
  return { passphrase: readFileSync(join(set.dir, entry.passphraseFile)) };
}

/**
 * Every comparison with QEMU's recorded answers, for one fixture set: the
 * committed one, or one regenerated live by qemu-img.
 */
/** A promise that must end in a typed Qcow2Error (QEMU refused this image too). */
async function expectTypedError(run: () => Promise<unknown>): Promise<void> {
  await expect(run()).rejects.toMatchObject({ name: "Qcow2Error", code: expect.any(String) });
}

export function defineFixtureSuite(
  label: string,
  entries: FixtureEntry[],
  getSet: () => FixtureSet,
): void {
  describe(label, () => {
    for (const entry of entries.filter((e) => e.kind !== "non-qcow2")) {
      describe(entry.name, () => {
        it("inspect equals qemu-img info key for key (or, where qemu-img refuses, still reports)", async () => {
          const set = getSet();
          const expected = set.answerJson(entry.name, "info.json");
          const source = await openFileSource(set.path(entry));
          try {
            const info = await inspect(source);
            const table = await readSnapshots(source, info);
            const bitmaps = await readBitmaps(source, info);
            const luks = await readLuksHeader(source, info);
            if (expected === undefined) {
              // qemu-img info refuses it (e.g. an unknown incompatible bit); the lenient inspect must not.
              expect(Number(set.answerText(entry.name, "info.exit"))).not.toBe(0);
              expect(
                info.problems.length + info.incompatibleFeatures.unknownBits.length,
              ).toBeGreaterThan(0);
              return;
            }
            const ours = toQemuImgInfo(info, {
              filename: entry.file.split("/").pop() as string,
              snapshots: table.snapshots,
              bitmaps: bitmaps.bitmaps,
              bitmapsConsistent: bitmaps.consistent,
              luks,
            });
            expect(stableInfo(ours as unknown as Record<string, unknown>)).toEqual(
              stableInfo(expected as Record<string, unknown>),
            );
            expect(table.truncated).toBe(
              entry.expect.findings !== undefined &&
                (entry.expect.findings as string[]).includes("QCOW2-SNAPSHOT-TABLE-TRUNCATED"),
            );
          } finally {
            await source.close();
          }
        });

        if (
          entry.kind === "qcow2" &&
          COMMITTED.answerText(entry.name, "check.json") !== undefined
        ) {
          it("finds exactly the orphaned clusters qemu-img check reports", async () => {
            const set = getSet();
            const source = await openFileSource(set.path(entry));
            try {
              const info = await inspect(source);
              const report = await check(source, info);
              expect([...report.orphanedClusters].sort((a, b) => a - b)).toEqual(
                qemuOrphanClusters(set, entry.name).sort((a, b) => a - b),
              );
            } finally {
              await source.close();
            }
          });
        }

        it("check equals qemu-img check --output=json and its exit code (where qemu-img can check it)", async () => {
          const set = getSet();
          const exit = Number(set.answerText(entry.name, "check.exit"));
          const qemuJson = set.answerJson(entry.name, "check.json") as
            | Record<string, unknown>
            | undefined;
          const source = await openFileSource(set.path(entry));
          try {
            if (entry.kind === "qcow1") {
              expect(exit).toBe(63);
              await expect(check(source)).rejects.toMatchObject({
                message: expect.stringMatching(/does not support checks/),
              });
              return;
            }
            if (qemuJson === undefined) {
              const stderr = set.answerText(entry.name, "check.stderr") ?? "";
              // qemu-img check opens the whole chain; ours checks the image's own metadata without it.
              if (/backing|timed out|infinite/i.test(stderr) || exit === 124) {
                const report = await check(source);
                expect(report.checkErrors).toBe(0);
              } else {
                await expectTypedError(() => check(source));
              }
              return;
            }
            const report = await check(source);
            const ours: Record<string, unknown> = { ...toQemuCheckJson(report, "") };
            const qemu = { ...qemuJson };
            delete ours.filename;
            delete qemu.filename;
            expect(ours).toEqual(qemu);
            expect(qemuCheckExitCode(report)).toBe(exit);
          } finally {
            await source.close();
          }
        });

        if (entry.encrypted) {
          it("without a passphrase the reader asks for one (PASSPHRASE_REQUIRED)", async () => {
            await expect(openImage(getSet().path(entry))).rejects.toMatchObject({
              code: "PASSPHRASE_REQUIRED",
            });
          });
          it("a wrong passphrase is BAD_PASSPHRASE, detected by the master-key digest", async () => {
            await expect(
              openImage(getSet().path(entry), {
                passphrase: new TextEncoder().encode("not the passphrase"),
              }),
            ).rejects.toMatchObject({
              code: "BAD_PASSPHRASE",
            });
          });
        }

        it("reads bit-identically to qemu-img convert -O raw (or fails typed where qemu-img fails)", async () => {
          const set = getSet();
          const expected = set.answerText(entry.name, "raw.sha256");
          if (expected === undefined) {
            await expectTypedError(() => imageSha256(set.path(entry), readOptions(set, entry)));
            return;
          }
          expect(expected).toMatch(/^[0-9a-f]{64}$/);
          expect(await imageSha256(set.path(entry), readOptions(set, entry))).toBe(expected);
        });

        it("maps exactly as qemu-img map --output=json prints (or fails typed where qemu-img fails)", async () => {
          const set = getSet();
          const expected = set.answerText(entry.name, "map.json");
          const run = async () => {
            const image = await openImage(set.path(entry), readOptions(set, entry));
            try {
              return formatQemuMapJson(await image.map()).trim();
            } finally {
              await image.close();
            }
          };
          if (expected === undefined) {
            await expectTypedError(run);
            return;
          }
          expect(await run()).toBe(expected);
        });

        for (const snap of (entry.expect.snapshots as string[] | undefined) ?? []) {
          it(`reads snapshot ${snap} bit-identically to qemu-img convert -l`, async () => {
            const set = getSet();
            const expected = set.answerText(entry.name, `snapshot-${snap}.raw.sha256`);
            expect(expected).toMatch(/^[0-9a-f]{64}$/);
            expect(
              await imageSha256(set.path(entry), { snapshot: snap, ...readOptions(set, entry) }),
            ).toBe(expected);
          });
        }
      });
    }
  });
}
