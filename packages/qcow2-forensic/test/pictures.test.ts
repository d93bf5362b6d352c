import { openImage } from "@x/qcow2-core/node";
import type { CellMapFigure, ChainFigure, Figure, TimelineFigure } from "@x/report";
import { describe, expect, it } from "vitest";
import { loadFixtureSet } from "../../../fixtures/harness/index.js";
import { auditPathWithPictures } from "../src/node.js";

const set = loadFixtureSet();
const NOW = new Date("2030-01-01T00:00:00Z");
const path = (name: string) => {
  const entry = set.entries.find((e) => e.name === name);
  if (entry === undefined) throw new Error(`no fixture ${name}`);
  return set.path(entry);
};

/** The label of every cell of a map, expanding its run-lengths. */
function cellLabels(map: CellMapFigure): string[] {
  const out: string[] = [];
  for (let i = 0; i < map.runs.length; i += 2)
    for (let n = 0; n < (map.runs[i + 1] as number); n++)
      out.push(map.categories[map.runs[i] as number]?.label ?? "?");
  return out;
}

function only<K extends Figure["kind"]>(
  figures: Figure[],
  kind: K,
  title?: string,
): Extract<Figure, { kind: K }> {
  const found = figures.filter(
    (f) => f.kind === kind && (title === undefined || f.title.startsWith(title)),
  );
  expect(found, `${kind} ${title ?? ""}`).toHaveLength(1);
  return found[0] as Extract<Figure, { kind: K }>;
}

/** Host clusters qemu-img check names, by what it says of them. */
function qemuCheckClusters(name: string) {
  const stderr = set.answerText(name, "check.stderr") ?? "";
  const errors = [...stderr.matchAll(/ERROR cluster (\d+) refcount=(\d+) reference=(\d+)/g)];
  return {
    leaked: [...stderr.matchAll(/Leaked cluster (\d+) /g)].map((m) => Number(m[1])),
    orphaned: errors.filter((m) => m[2] === "0").map((m) => Number(m[1])),
    beyondEof: [...stderr.matchAll(/exceeding the end of the file/g)].length,
  };
}

type QemuExtent = { start: number; length: number; depth: number; present: boolean; data: boolean };

/** The guest map's rule applied to qemu-img map's own extents: data (most bytes' layer), else zeros, else unallocated. */
function expectedGuestCells(extents: QemuExtent[], cellBytes: number, cells: number): string[] {
  return Array.from({ length: cells }, (_, c) => {
    const [from, to] = [c * cellBytes, (c + 1) * cellBytes];
    const data = new Map<number, number>();
    let zero = 0;
    for (const e of extents) {
      const n = Math.min(to, e.start + e.length) - Math.max(from, e.start);
      if (n <= 0) continue;
      if (e.data) data.set(e.depth, (data.get(e.depth) ?? 0) + n);
      else if (e.present) zero += n;
    }
    const [depth] = [...data.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0] ?? [];
    if (depth !== undefined) return depth === 0 ? "data: this image" : `data: layer ${depth}`;
    return zero > 0 ? "zeros" : "unallocated";
  });
}

describe("pictures of an audited image", () => {
  it("the host map marks the clusters qemu-img check calls leaked", async () => {
    const { figures } = await auditPathWithPictures(path("leak"), { now: NOW, cells: 65536 });
    const labels = cellLabels(only(figures, "cell-map", "Host file"));
    const leaked = labels.flatMap((l, k) => (l === "leaked" ? [k] : []));
    expect(leaked).toEqual(qemuCheckClusters("leak").leaked);
    expect(labels[0]).toBe("header");
  });

  it("the host map marks the clusters qemu-img check calls orphaned", async () => {
    const { figures } = await auditPathWithPictures(path("orphan"), { now: NOW, cells: 65536 });
    const labels = cellLabels(only(figures, "cell-map", "Host file"));
    const orphaned = labels.flatMap((l, k) => (l === "orphaned" ? [k] : []));
    expect(orphaned).toEqual(qemuCheckClusters("orphan").orphaned);
  });

  it("references past end of file get cells after the file, one per reference qemu-img check reports", async () => {
    const { figures } = await auditPathWithPictures(path("offset-beyond-eof"), { now: NOW });
    const map = only(figures, "cell-map", "Host file");
    expect(map.tail?.runs[1]).toBe(qemuCheckClusters("offset-beyond-eof").beyondEof);
    expect(map.categories[map.tail?.runs[0] as number]?.label).toBe("past EOF");
  });

  it("a map of a large file keeps to its cells: anomalies and metadata stay visible", async () => {
    const { figures } = await auditPathWithPictures(path("leak"), { now: NOW, cells: 2 });
    const labels = cellLabels(only(figures, "cell-map", "Host file"));
    expect(labels.length).toBeLessThanOrEqual(2);
    // The leaked cluster (one of many in its cell) still shows.
    expect(labels).toContain("leaked");
  });

  it("the guest map of an overlay shows which layer supplies each range, as qemu-img map reports it", async () => {
    const { figures } = await auditPathWithPictures(path("overlay"), { now: NOW, cells: 256 });
    const map = only(figures, "cell-map", "Guest disk — active");
    const qemu = set.answerJson<QemuExtent[]>("overlay", "map.json") ?? [];
    const size = qemu.reduce((end, e) => Math.max(end, e.start + e.length), 0);
    const labels = cellLabels(map);
    expect(labels).toEqual(
      expectedGuestCells(qemu, map.cellBytes, Math.ceil(size / map.cellBytes)),
    );
    expect(new Set(labels)).toEqual(
      new Set(["data: this image", "data: layer 1", "zeros", "unallocated"]),
    );
  });

  it("draws a guest map for the active state and for each snapshot, and the snapshots on a timeline", async () => {
    const { figures } = await auditPathWithPictures(path("snapshots"), { now: NOW });
    const qemu = set.answerJson<{
      snapshots: Array<{ id: string; name: string; "date-sec": number }>;
    }>("snapshots", "info.json");
    const titles = figures.filter((f) => f.kind === "cell-map").map((f) => f.title);
    expect(titles).toEqual([
      "Host file",
      "Guest disk — active state",
      ...(qemu?.snapshots ?? []).map((s) => `Guest disk — snapshot id ${s.id} "${s.name}"`),
    ]);
    const timeline = only(figures, "timeline") as TimelineFigure;
    expect(timeline.events.map((e) => Math.floor(e.time))).toEqual(
      (qemu?.snapshots ?? []).map((s) => s["date-sec"]),
    );
    expect(timeline.reference).toBeUndefined();
  });

  it("a snapshot dated after the audit clock is flagged, and the clock is marked", async () => {
    const { figures } = await auditPathWithPictures(path("snapshot-time-future"), { now: NOW });
    const qemu = set.answerJson<{ snapshots: Array<{ "date-sec": number }> }>(
      "snapshot-time-future",
      "info.json",
    );
    const timeline = only(figures, "timeline") as TimelineFigure;
    expect(timeline.events.map((e) => Boolean(e.flagged))).toEqual(
      (qemu?.snapshots ?? []).map((s) => s["date-sec"] > NOW.getTime() / 1000),
    );
    expect(timeline.reference?.time).toBe(NOW.getTime() / 1000);
  });

  it("the chain diagram follows the backing names qemu-img info records, top first", async () => {
    const { figures } = await auditPathWithPictures(path("chain-top"), { now: NOW });
    const chain = only(figures, "chain") as ChainFigure;
    const names = [];
    for (let name = "chain-top"; ; ) {
      const info = set.answerJson<{ "backing-filename"?: string }>(name, "info.json");
      if (info?.["backing-filename"] === undefined) break;
      names.push(info["backing-filename"]);
      name = info["backing-filename"].replace(/\.(qcow2|raw)$/, "");
    }
    expect(names.length).toBeGreaterThan(1);
    expect(chain.nodes.map((n) => n.label)).toEqual([path("chain-top"), ...names]);
    expect(chain.nodes.every((n) => n.state === "present")).toBe(true);
  });

  it("a missing backing file ends the chain as missing, and the guest map shows the image's own layer", async () => {
    const { figures } = await auditPathWithPictures(path("backing-missing"), { now: NOW });
    const chain = only(figures, "chain") as ChainFigure;
    const missing = /Could not open '([^']+)'/.exec(
      set.answerText("backing-missing", "backing-chain.info.stderr") ?? "",
    )?.[1];
    expect(chain.nodes.at(-1)).toMatchObject({ label: missing, state: "missing" });
    const guest = only(figures, "cell-map", "Guest disk — active");
    expect(guest.caption).toContain("this image's own layer is drawn");
  });

  it("an encrypted image without its passphrase gets a note instead of guest maps; with it, a map", async () => {
    const locked = await auditPathWithPictures(path("luks"), { now: NOW });
    expect(only(locked.figures, "note", "Guest disk").text).toMatch(/PASSPHRASE_REQUIRED/);
    const passphrase = new Uint8Array(
      await import("node:fs/promises").then((fs) =>
        fs.readFile(path("luks").replace(/luks\.qcow2$/, "luks.passphrase")),
      ),
    );
    const unlocked = await auditPathWithPictures(path("luks"), {
      now: NOW,
      openState: ({ snapshot, layerOnly }) =>
        openImage(path("luks"), {
          passphrase,
          layerOnly,
          ...(snapshot === null ? {} : { snapshot: snapshot.id }),
        }),
    });
    only(unlocked.figures, "cell-map", "Guest disk — active");
  });

  it("a quick audit draws no map and says why", async () => {
    const { figures } = await auditPathWithPictures(path("snapshots"), { now: NOW, quick: true });
    expect(figures.filter((f) => f.kind === "cell-map")).toHaveLength(0);
    expect(only(figures, "note", "Host file").text).toMatch(/--quick/);
    expect(only(figures, "note", "Guest maps").text).toMatch(/quick/);
  });

  it("QCOW1 has no refcounts: the host map is a note, the guest map is drawn", async () => {
    const { figures, facts } = await auditPathWithPictures(path("qcow1"), { now: NOW });
    expect(only(figures, "note", "Host file").text).toMatch(/QCOW1/);
    only(figures, "cell-map", "Guest disk — active");
    expect(facts.find((f) => f.label === "format")?.value).toBe("qcow (version 1)");
  });
});
