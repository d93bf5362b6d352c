import { spawnSync } from "node:child_process";
import { dirname } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadFixtureSet, qcowEntries, qemuOrSkipReason } from "../../../fixtures/harness/index.js";
import {
  disposeMatrix,
  MATRIX_IMAGES,
  type MatrixSet,
  regenerateMatrix,
} from "../../../fixtures/harness/matrix.js";
import { check, formatQemuMapJson, qemuCheckExitCode, toQemuCheckJson } from "../src/index.js";
import { openFileSource, openImage } from "../src/node.js";
import { imageSha256 } from "./disk-sha.js";

const SHA256 = /^[0-9a-f]{64}$/;

// Live: fixtures/matrix.sh builds ~40 images with qemu-img/qemu-io and records
// qemu-img's answers; every image must read and map exactly as QEMU does.
const skip = qemuOrSkipReason();

describe("live differential matrix (fixtures/matrix.sh)", () => {
  if (skip !== undefined) {
    it.skip(skip, () => {});
    return;
  }

  let built: MatrixSet | undefined;
  // 43 qemu-img/qemu-io recipes: 45 s on an idle machine, 144 s and once over 180 s on one shared
  // with other suites (load 12 on 2 cores); the bound is for a hang, not for a busy machine.
  beforeAll(() => {
    built = regenerateMatrix();
    console.info(
      `[matrix] ${built.entries.length} images built by matrix.sh in ${built.seconds?.toFixed(1)} s`,
    );
  }, 600_000);
  afterAll(() => disposeMatrix());
  const matrix = (): MatrixSet => {
    if (built === undefined) throw new Error("the matrix was not built");
    return built;
  };

  it("covers at least 30 images", () => {
    expect(MATRIX_IMAGES.length).toBeGreaterThanOrEqual(30);
  });

  it("matrix.json lists exactly the images, snapshots and backing depths of MATRIX_IMAGES", () => {
    const listed = matrix().entries.map((e) => ({
      name: e.name,
      snapshots: e.snapshots,
      backingDepth: e.backingDepth,
    }));
    expect(listed).toEqual(MATRIX_IMAGES);
    for (const e of matrix().entries) {
      const checks = ["raw", "map"];
      if (e.snapshots.length > 0) checks.push("snapshots");
      if (e.backingDepth > 0) checks.push("layer-only");
      expect(e.checks, e.name).toEqual(checks);
      expect(e.commands.length, e.name).toBeGreaterThan(0);
    }
  });

  for (const image of MATRIX_IMAGES) {
    describe(image.name, () => {
      it("reads bit-identically to qemu-img convert -O raw", async () => {
        const set = matrix();
        const expected = set.answerText(image.name, "raw.sha256");
        expect(expected, "qemu-img convert answer").toMatch(SHA256);
        expect(await imageSha256(set.path(set.entry(image.name)))).toBe(expected);
      });

      it("maps exactly as qemu-img map --output=json prints", async () => {
        const set = matrix();
        const expected = set.answerText(image.name, "map.json");
        expect(expected, "qemu-img map answer").toBeDefined();
        const opened = await openImage(set.path(set.entry(image.name)));
        try {
          expect(formatQemuMapJson(await opened.map()).trim()).toBe(expected);
        } finally {
          await opened.close();
        }
      });

      it("checks exactly as qemu-img check --output=json, exit code included", async () => {
        const path = matrix().path(matrix().entry(image.name));
        const qemu = spawnSync(
          "qemu-img",
          ["check", "--output=json", path.split("/").pop() as string],
          {
            cwd: dirname(path),
            encoding: "utf8",
          },
        );
        const source = await openFileSource(path);
        try {
          if (qemu.status === 63) {
            await expect(check(source)).rejects.toMatchObject({
              message: expect.stringMatching(/does not support checks/),
            });
            return;
          }
          const report = await check(source);
          const ours: Record<string, unknown> = { ...toQemuCheckJson(report, "") };
          const theirs = JSON.parse(qemu.stdout) as Record<string, unknown>;
          delete ours.filename;
          delete theirs.filename;
          expect(ours).toEqual(theirs);
          expect(qemuCheckExitCode(report)).toBe(qemu.status);
        } finally {
          await source.close();
        }
      });

      for (const snap of image.snapshots) {
        it(`reads snapshot ${snap} bit-identically to qemu-img convert -l`, async () => {
          const set = matrix();
          const expected = set.answerText(image.name, `snapshot-${snap}.raw.sha256`);
          expect(expected, "qemu-img convert -l answer").toMatch(SHA256);
          expect(await imageSha256(set.path(set.entry(image.name)), { snapshot: snap })).toBe(
            expected,
          );
        });
      }

      if (image.backingDepth > 0) {
        it("reads layerOnly bit-identically to qemu-img convert with backing: null", async () => {
          const set = matrix();
          const expected = set.answerText(image.name, "layer-only.raw.sha256");
          expect(expected, "layer-only answer").toMatch(SHA256);
          expect(await imageSha256(set.path(set.entry(image.name)), { layerOnly: true })).toBe(
            expected,
          );
        });
      }
    });
  }
});

// Committed: fixtures/make.sh records answers/<name>.layer-only.raw.sha256 for every
// image with a backing file (same oracle); no qemu needed.
describe("committed fixtures: layerOnly vs recorded layer-only answers", () => {
  const committed = loadFixtureSet();
  const layered = qcowEntries(committed).filter(
    (e) => committed.answerText(e.name, "layer-only.raw.sha256") !== undefined,
  );

  it("every committed image with a backing file has a layer-only answer", () => {
    const backed = qcowEntries(committed)
      .filter((e) => committed.answerJson(e.name, "info.json")?.["backing-filename"] !== undefined)
      .map((e) => e.name);
    expect(backed.length).toBeGreaterThanOrEqual(3);
    expect(layered.map((e) => e.name)).toEqual(backed);
  });

  for (const entry of layered) {
    it(`${entry.name}: layerOnly reads bit-identically to the recorded answer`, async () => {
      const expected = committed.answerText(entry.name, "layer-only.raw.sha256");
      expect(expected).toMatch(SHA256);
      expect(await imageSha256(committed.path(entry), { layerOnly: true })).toBe(expected);
    });
  }
});
