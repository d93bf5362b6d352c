import { describe, expect, it } from "vitest";
import { loadFixtureSet, qcowEntries } from "../../../fixtures/harness/index.js";
import { check, type HostCensus, MAX_CENSUS_CELLS } from "../src/index.js";
import { openFileSource } from "../src/node.js";

const set = loadFixtureSet();
const checked = qcowEntries(set).filter(
  (e) => e.kind === "qcow2" && set.answerJson(e.name, "check.json") !== undefined,
);

async function censusOf(name: string, cells = MAX_CENSUS_CELLS): Promise<HostCensus> {
  const entry = set.entries.find((e) => e.name === name);
  if (entry === undefined) throw new Error(`no fixture ${name}`);
  const source = await openFileSource(set.path(entry));
  try {
    const report = await check(source, undefined, { census: { cells } });
    if (report.census === undefined) throw new Error("no census");
    return report.census;
  } finally {
    await source.close();
  }
}

/** Host clusters qemu-img check names in its messages, by kind. */
function qemuClusters(name: string): { leaked: number[]; orphaned: number[]; mismatch: number[] } {
  const stderr = set.answerText(name, "check.stderr") ?? "";
  const errors = [...stderr.matchAll(/ERROR cluster (\d+) refcount=(\d+) reference=(\d+)/g)];
  return {
    leaked: [...stderr.matchAll(/Leaked cluster (\d+) /g)].map((m) => Number(m[1])),
    orphaned: errors.filter((m) => Number(m[2]) === 0).map((m) => Number(m[1])),
    mismatch: errors.filter((m) => Number(m[2]) > 0).map((m) => Number(m[1])),
  };
}

/** Clusters carrying `flag`, when every cell is one cluster. */
const flagged = (census: HostCensus, flag: "leaked" | "orphaned" | "refcount-mismatch") =>
  census.cells.filter((c) => (c.flags[flag] ?? 0) > 0).map((c) => c.firstCluster);

describe("check census of the host file", () => {
  for (const entry of checked) {
    it(`${entry.name}: leaked, orphaned and mismatched clusters are those qemu-img check names`, async () => {
      const census = await censusOf(entry.name);
      expect(census.clustersPerCell).toBe(1);
      const qemu = qemuClusters(entry.name);
      expect(flagged(census, "leaked")).toEqual(qemu.leaked.sort((a, b) => a - b));
      expect(flagged(census, "orphaned")).toEqual(qemu.orphaned.sort((a, b) => a - b));
      expect(flagged(census, "refcount-mismatch")).toEqual(qemu.mismatch.sort((a, b) => a - b));
    });
  }

  it("every cluster is counted once, whatever the number of cells", async () => {
    for (const cells of [1, 7, 1024]) {
      const census = await censusOf("snapshots", cells);
      expect(census.cells.length).toBeLessThanOrEqual(cells);
      const perCell = census.cells.map((c) => c.clusters);
      expect(perCell.reduce((a, b) => a + b, 0)).toBe(census.clusters);
      for (const cell of census.cells)
        expect(Object.values(cell.uses).reduce((a, b) => a + (b ?? 0), 0)).toBe(cell.clusters);
    }
  });

  it("data clusters are the host clusters qemu-img map places the guest's data in", async () => {
    // Plain images (no snapshot, backing, data file or encryption): only the active L2 tables refer to data.
    for (const name of ["clean-v3", "clean-v2", "cluster-512", "zero-clusters", "leak", "orphan"]) {
      const census = await censusOf(name);
      const map = set.answerJson<Array<{ depth: number; length: number; offset?: number }>>(
        name,
        "map.json",
      );
      const hostClusters = new Set<number>();
      for (const e of map ?? []) {
        if (e.depth !== 0 || e.offset === undefined) continue;
        for (let at = 0; at < e.length; at += census.clusterSize)
          hostClusters.add(Math.floor((e.offset + at) / census.clusterSize));
      }
      const data = census.cells.filter((c) => c.uses.data).map((c) => c.firstCluster);
      expect(data, name).toEqual([...hostClusters].sort((a, b) => a - b));
    }
  });

  it("cluster 0 is the header; a shared cluster is flagged as an overlap where qemu-img counts two references", async () => {
    const census = await censusOf("metadata-overlap");
    expect(census.cells[0]?.uses.header).toBe(1);
    const doubled = qemuClusters("metadata-overlap").mismatch;
    expect(doubled.length).toBeGreaterThan(0);
    for (const k of doubled) expect(census.cells[k]?.flags.overlap, `cluster ${k}`).toBe(1);
  });

  it("references past end of file are counted apart, as qemu-img check reports them", async () => {
    const census = await censusOf("offset-beyond-eof");
    const stderr = set.answerText("offset-beyond-eof", "check.stderr") ?? "";
    const qemu = [...stderr.matchAll(/exceeding the end of the file.*?offset (0x[0-9a-f]+)/g)];
    expect(census.beyondEof.count).toBe(qemu.length);
    expect(census.beyondEof.offsets).toEqual(qemu.map((m) => Number(m[1])));
    expect(census.clusters).toBeLessThanOrEqual(
      Math.ceil(census.fileSize / census.clusterSize) + 1,
    );
  });
});
