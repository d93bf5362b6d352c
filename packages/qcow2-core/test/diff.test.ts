import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  buildDiffMatrix,
  covers,
  DIFF_CASES,
  type DiffCase,
  type DiffMatrix,
  differingSectors,
  disposeDiffMatrix,
  mergeRanges,
  type Range,
} from "../../../fixtures/harness/diff-matrix.js";
import { qemuOrSkipReason } from "../../../fixtures/harness/index.js";
import {
  backingView,
  type DiffExtent,
  type DiskView,
  diffDisks,
  diffSummary,
  parseStateRef,
  type Qcow2Image,
} from "../src/index.js";
import { openImage } from "../src/node.js";
import { unshared } from "./unshared-view.js";

// Live: fixtures/diff-matrix.sh writes images with qemu-img/qemu-io and exports both states of
// every comparison with `qemu-img convert -O raw`; the sectors in which those exports differ are
// the truth. The exact diff must equal it; the metadata-only diff must cover it.
const skip = qemuOrSkipReason();

const ranges = (extents: readonly DiffExtent[]): Range[] =>
  extents.map((e) => ({ start: e.start, length: e.length }));

describe.skipIf(skip !== undefined)(
  "diff against qemu-img convert (fixtures/diff-matrix.sh)",
  () => {
    let built: DiffMatrix | undefined;
    const opened: Qcow2Image[] = [];
    beforeAll(() => {
      built = buildDiffMatrix();
      console.log(
        `[diff] ${built.cases.length} comparisons built by diff-matrix.sh in ${built.seconds.toFixed(1)} s`,
      );
    }, 300_000);
    afterAll(async () => {
      for (const image of opened) await image.close();
      disposeDiffMatrix();
    });
    const matrix = (): DiffMatrix => {
      if (built === undefined) throw new Error("the diff matrix was not built");
      return built;
    };

    async function openState(c: DiffCase, path: string, state: string): Promise<DiskView> {
      const ref = parseStateRef(state);
      if (ref === undefined) throw new Error(`bad state ${state}`);
      const passphrase =
        c.passphraseFile === null ? undefined : readFileSync(matrix().path(c.passphraseFile));
      const image = await openImage(matrix().path(path), {
        ...(ref.kind === "snapshot" ? { snapshot: ref.snapshot } : {}),
        ...(passphrase === undefined ? {} : { passphrase }),
      });
      opened.push(image);
      return ref.kind === "backing" ? backingView(image, ref.depth) : image;
    }

    const sides = async (c: DiffCase): Promise<[DiskView, DiskView]> => [
      await openState(c, c.image, c.from),
      await openState(c, c.other ?? c.image, c.to),
    ];

    const ranges = (extents: readonly DiffExtent[]): Range[] =>
      extents.map((e) => ({ start: e.start, length: e.length }));

    it("cases.json lists exactly DIFF_CASES", () => {
      expect(matrix().cases.map((c) => c.name)).toEqual([...DIFF_CASES]);
    });

    for (const name of DIFF_CASES) {
      describe(name, () => {
        it("the exact diff is the set of 512-byte sectors in which qemu-img's exports differ", async () => {
          const c = matrix().get(name);
          const truth = differingSectors(matrix().path(c.truthFrom), matrix().path(c.truthTo));
          const [from, to] = await sides(c);
          const { extents, stats } = await diffDisks(from, to);
          expect(mergeRanges(ranges(extents))).toEqual(truth);
          expect(stats.changedBytes).toBe(truth.reduce((n, r) => n + r.length, 0));
          expect(stats.extents).toBe(extents.length);
          // Only what the metadata could not decide is read, at most once per side.
          expect(stats.bytesRead).toBeLessThanOrEqual(2 * (stats.candidateBytes + 1024));
        });

        it("the metadata-only diff reads nothing and covers the truth", async () => {
          const c = matrix().get(name);
          const truth = differingSectors(matrix().path(c.truthFrom), matrix().path(c.truthTo));
          const [from, to] = await sides(c);
          const { extents, stats } = await diffDisks(from, to, { metadataOnly: true });
          expect(stats.bytesRead).toBe(0);
          expect(stats.exact).toBe(false);
          expect(covers(mergeRanges(ranges(extents)), truth)).toBe(true);
        });

        it("skipping the entries two tables share changes no extent, and the summary agrees", async () => {
          const c = matrix().get(name);
          const [from, to] = await sides(c);
          for (const metadataOnly of [false, true]) {
            const streamed = await diffDisks(from, to, { metadataOnly });
            // The same walk with every layer resolved, cluster run by cluster run.
            const walked = await diffDisks(unshared(from), unshared(to), { metadataOnly });
            expect(streamed.extents).toEqual(walked.extents);
            expect({ ...streamed.stats, bytesRead: 0 }).toEqual({ ...walked.stats, bytesRead: 0 });
            const summary = await diffSummary(from, to, { metadataOnly });
            expect(summary.stats).toEqual(streamed.stats);
            expect(summary.first).toEqual(streamed.extents[0] ?? null);
          }
        });

        it("extents are sorted, disjoint, coalesced, with how each side stores them", async () => {
          const c = matrix().get(name);
          const [from, to] = await sides(c);
          for (const metadataOnly of [false, true]) {
            const { extents } = await diffDisks(from, to, { metadataOnly });
            for (let i = 0; i < extents.length; i++) {
              const e = extents[i] as DiffExtent;
              expect(e.length).toBeGreaterThan(0);
              const next = extents[i + 1];
              if (next === undefined) continue;
              expect(e.start + e.length).toBeLessThanOrEqual(next.start);
              if (e.start + e.length === next.start) {
                // Touching extents are only split where a side's storage does not continue.
                const continues = (a: typeof e.from, b: typeof e.from) =>
                  a.kind === b.kind &&
                  a.depth === b.depth &&
                  a.file === b.file &&
                  (a.kind !== "data" || (a.offset as number) + e.length === b.offset) &&
                  (a.kind !== "compressed" || a.offset === b.offset);
                expect(continues(e.from, next.from) && continues(e.to, next.to)).toBe(false);
              }
            }
          }
        });
      });
    }

    it("identical states read nothing and report nothing", async () => {
      const [from, to] = await sides(matrix().get("same-untouched"));
      const { extents, stats } = await diffDisks(from, to);
      expect(extents).toEqual([]);
      expect(stats.bytesRead).toBe(0);
      expect(stats.candidateBytes).toBe(0);
    });

    it("identical bytes in different clusters: the exact diff is empty, metadata-only is not", async () => {
      const [from, to] = await sides(matrix().get("same-rewritten"));
      expect((await diffDisks(from, to)).extents).toEqual([]);
      expect((await diffDisks(from, to, { metadataOnly: true })).extents.length).toBeGreaterThan(0);
    });

    it("the same image file reached twice is recognised: nothing is read", async () => {
      const c = matrix().get("ops-s1-active");
      const a = await openState(c, c.image, "active");
      const b = await openState(c, c.image, "active");
      const { extents, stats } = await diffDisks(a, b);
      expect(extents).toEqual([]);
      expect(stats.bytesRead).toBe(0);
    });

    it("how the active side stores each extent agrees with qemu-img map", async () => {
      for (const name of DIFF_CASES) {
        const c = matrix().get(name);
        if (c.to !== "active" || c.passphraseFile !== null) continue;
        const [from, to] = await sides(c);
        const map = JSON.parse(
          execFileSync(
            "qemu-img",
            ["map", "--output=json", (to.layers[0] as { name: string }).name],
            {
              encoding: "utf8",
              cwd: matrix().dir,
            },
          ),
        ) as Array<{
          start: number;
          length: number;
          depth: number;
          present: boolean;
          zero: boolean;
          data: boolean;
          offset?: number;
        }>;
        for (const e of (await diffDisks(from, to, { metadataOnly: true })).extents) {
          const m = map.find((x) => x.start <= e.start && e.start < x.start + x.length);
          if (m === undefined) throw new Error(`${name}: no map entry at ${e.start}`);
          const t = e.to;
          const where = `${name} @ ${e.start}: ${JSON.stringify(t)} vs ${JSON.stringify(m)}`;
          if (t.kind === "unallocated") expect(m.present, where).toBe(false);
          if (t.kind === "zero") expect(m.zero && m.present && !m.data, where).toBe(true);
          if (t.kind === "data" || t.kind === "compressed") {
            expect(m.data, where).toBe(true);
            expect(t.depth, where).toBe(m.depth);
          }
          if (t.kind === "data")
            expect(t.offset, where).toBe((m.offset as number) + (e.start - m.start));
          if (t.kind === "compressed") expect(m.offset, where).toBeUndefined();
        }
      }
    });
  },
);

describe.skipIf(skip !== undefined)("diff of a 64 TiB sparse overlay (no walk per cluster)", () => {
  it("finds the first mismatch qemu-img compare reports, and the writes far out", async () => {
    const dir = mkdtempSync(join(tmpdir(), "qcow2-diff-huge-"));
    try {
      const run = (tool: string, args: string[]) =>
        spawnSync(tool, args, { cwd: dir, encoding: "utf8" });
      const ok = (r: ReturnType<typeof run>) => {
        if (r.status !== 0) throw new Error(r.stderr);
      };
      ok(run("qemu-img", ["create", "-q", "-f", "qcow2", "base.qcow2", "64T"]));
      ok(run("qemu-io", ["-c", "write -P 1 0 64k", "-c", "write -P 2 20T 64k", "base.qcow2"]));
      ok(
        run("qemu-img", [
          "create",
          "-q",
          "-f",
          "qcow2",
          "-b",
          "base.qcow2",
          "-F",
          "qcow2",
          "top.qcow2",
          "64T",
        ]),
      );
      ok(
        run("qemu-io", [
          "-c",
          "write -P 4 1M 4k",
          "-c",
          "write -P 5 40T 64k",
          "-c",
          "write -z 20T 64k",
          "top.qcow2",
        ]),
      );
      const compare = run("qemu-img", ["compare", "base.qcow2", "top.qcow2"]);
      expect(compare.status).toBe(1);
      const first = Number(/Content mismatch at offset (\d+)!/.exec(compare.stdout)?.[1]);
      const top = await openImage(join(dir, "top.qcow2"));
      try {
        const { extents, stats } = await diffDisks(backingView(top, 1), top);
        expect(extents[0]?.start).toBe(first);
        const tib = 2 ** 40;
        expect(extents.map((e) => [e.start, e.length, e.from.kind, e.to.kind])).toEqual([
          [first, 4096, "unallocated", "data"],
          [20 * tib, 65536, "data", "zero"],
          [40 * tib, 65536, "unallocated", "data"],
        ]);
        expect(stats.size).toBe(64 * tib);
        const meta = await diffDisks(backingView(top, 1), top, { metadataOnly: true });
        expect(covers(mergeRanges(ranges(meta.extents)), mergeRanges(ranges(extents)))).toBe(true);
      } finally {
        await top.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
