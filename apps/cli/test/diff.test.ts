import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  covers,
  differingSectors,
  mergeRanges,
  type Range,
} from "../../../fixtures/harness/diff-matrix.js";
import { loadFixtureSet, qemuOrSkipReason } from "../../../fixtures/harness/index.js";
import { CLI, runCli } from "./run-cli.js";

const set = loadFixtureSet();
const path = (name: string) => {
  const e = set.entries.find((x) => x.name === name);
  if (!e) throw new Error(`no fixture ${name}`);
  return set.path(e);
};
const SNAPSHOTS = path("snapshots");
const OVERLAY = path("overlay");

interface JsonDiff {
  from: {
    image: string;
    state: string;
    virtualSize: number;
    snapshot?: { id: string; name: string };
  };
  to: { image: string; state: string; virtualSize: number };
  granularity: number;
  exact: boolean;
  note?: string;
  extents: Array<{
    start: number;
    length: number;
    from: { kind: string } | null;
    to: { kind: string };
  }>;
  changedBytes: number;
  extentCount: number;
  bytesRead?: number;
}

const ranges = (d: JsonDiff): Range[] =>
  d.extents.map((e) => ({ start: e.start, length: e.length }));

describe("diff: output shapes and exit codes", () => {
  it("defaults to the newest snapshot → active, exit 1 when they differ, JSON as documented", () => {
    const r = runCli(["diff", "--json", SNAPSHOTS]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(1);
    const d = JSON.parse(r.stdout) as JsonDiff;
    expect(Object.keys(d)).toEqual([
      "from",
      "to",
      "granularity",
      "exact",
      "extents",
      "changedBytes",
      "extentCount",
      "bytesRead",
      "attribution",
    ]);
    expect(d.from.snapshot?.name).toBe("second");
    expect(d.to.state).toBe("active");
    expect(d.granularity).toBe(512);
    expect(d.extents.length).toBe(d.extentCount);
    expect(d.changedBytes).toBe(d.extents.reduce((n, e) => n + e.length, 0));
    for (let i = 1; i < d.extents.length; i++) {
      const prev = d.extents[i - 1] as JsonDiff["extents"][number];
      expect(prev.start + prev.length).toBeLessThanOrEqual((d.extents[i] as typeof prev).start);
    }
  });

  it("identical states exit 0 with no extents", () => {
    const r = runCli([
      "diff",
      "--json",
      SNAPSHOTS,
      "--from",
      "snapshot:first",
      "--to",
      "snapshot:1",
    ]);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as JsonDiff).extents).toEqual([]);
    const text = runCli(["diff", SNAPSHOTS, "--from", "snapshot:first", "--to", "snapshot:first"]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/result:\s+identical/);
  });

  it("text gives the summary first (extents, bytes, largest runs), then the extents", () => {
    const r = runCli(["diff", SNAPSHOTS]);
    expect(r.code).toBe(1);
    const lines = r.stdout.split("\n");
    expect(lines[0]).toMatch(/^from:\s+.*snapshot 2 "second"/);
    expect(lines[1]).toMatch(/^to:\s+.*active/);
    expect(lines[2]).toMatch(/^compared:\s+exactly, at 512-byte sectors/);
    expect(lines[3]).toMatch(/^result:\s+\d+ extents, .* changed$/);
    expect(lines[4]).toMatch(/^largest:\s+0x/);
    expect(lines[6]).toMatch(/^START\s+LENGTH\s+FROM\s+TO$/);
    const json = JSON.parse(runCli(["diff", "--json", SNAPSHOTS]).stdout) as JsonDiff;
    expect(lines.slice(7).filter((l) => l !== "")).toHaveLength(json.extents.length);
  });

  it("jsonl streams a header, one line per extent, and a summary", () => {
    const r = runCli(["diff", "--format", "jsonl", OVERLAY]);
    expect(r.code).toBe(1);
    const records = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { type: string });
    expect(records[0]?.type).toBe("diff");
    expect(records[records.length - 1]?.type).toBe("summary");
    const json = JSON.parse(runCli(["diff", "--json", OVERLAY]).stdout) as JsonDiff;
    const extents = records.filter((x) => x.type === "extent");
    expect(extents).toHaveLength(json.extents.length);
    expect(extents.map(({ type: _, ...e }) => e)).toEqual(json.extents);
  });

  it("csv has a header row and one row per extent", () => {
    const r = runCli(["diff", "--format", "csv", OVERLAY, "--from", "backing:1"]);
    expect(r.code).toBe(1);
    const rows = r.stdout.trim().split("\n");
    expect(rows[0]).toMatch(/^start,length,from_kind,/);
    const json = JSON.parse(runCli(["diff", "--json", OVERLAY]).stdout) as JsonDiff;
    expect(rows.length - 1).toBe(json.extents.length);
  });

  it("--metadata-only says it is a superset, reads nothing, and covers the exact answer", () => {
    const exact = JSON.parse(runCli(["diff", "--json", OVERLAY]).stdout) as JsonDiff;
    const r = runCli(["diff", "--json", "--metadata-only", OVERLAY]);
    expect(r.code).toBe(1);
    const meta = JSON.parse(r.stdout) as JsonDiff;
    expect(meta.exact).toBe(false);
    expect(meta.note).toMatch(/superset/);
    expect(meta.bytesRead).toBeUndefined();
    expect(covers(mergeRanges(ranges(meta)), mergeRanges(ranges(exact)))).toBe(true);
    expect(runCli(["diff", "--metadata-only", OVERLAY]).stdout).toMatch(
      /superset of the exact diff/,
    );
  });

  it("two images: their active disks", () => {
    const r = runCli(["diff", "--json", path("clean-v3"), path("clean-v2")]);
    const d = JSON.parse(r.stdout) as JsonDiff;
    expect(d.from.state).toBe("active");
    expect(d.to.image).toBe(path("clean-v2"));
    expect(r.code).toBe(d.extents.length > 0 ? 1 : 0);
  });

  it.each([
    [
      ["diff", SNAPSHOTS, "--from", "bogus"],
      /expected active, snapshot:<id or name> or backing:<N>/,
    ],
    [["diff", SNAPSHOTS, "--from", "backing:1"], /has no backing file: backing:1 does not exist/],
    [["diff", SNAPSHOTS, "--from", "snapshot:nope"], /no snapshot with id or name "nope"/],
    [["diff", path("clean-v3")], /no backing file and no internal snapshot/],
    [["diff", SNAPSHOTS, "--bitmap", "x", "--from", "active"], /--bitmap shows one image's bitmap/],
    [["diff", SNAPSHOTS, "--format", "xml"], /invalid/],
    [["diff", SNAPSHOTS, "--granularity", "300"], /power of two/],
    [["diff", path("bitmaps"), "--bitmap", "nope"], /no persistent bitmap named "nope"/],
  ])("usage error → exit 2, one line: %j", (args, message) => {
    const r = runCli(args as string[]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe("");
  });

  it.each([
    [["diff", "/nonexistent/disk.qcow2", "--from", "active"], /no such file/],
    [["diff", path("luks"), path("luks")], /passphrase is needed/],
    [["diff", path("bitmap-in-use"), "--bitmap", "bm-in-use"], /not trustworthy: flagged in-use/],
  ])("unreadable → exit 3, one line naming the file: %j", (args, message) => {
    const r = runCli(args as string[]);
    expect(r.code).toBe(3);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(message);
  });

  it("an encrypted image compares with --passphrase-file", () => {
    const r = runCli([
      "diff",
      "--json",
      path("luks"),
      path("luks"),
      "--passphrase-file",
      join(set.dir, "images", "luks.passphrase"),
    ]);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as JsonDiff).bytesRead).toBe(0);
  });
});

describe("diff progress bar", () => {
  const hasScript = spawnSync("script", ["--version"]).status === 0;
  it.skipIf(!hasScript)("appears on a terminal (script(1)), not on a pipe nor with --quiet", () => {
    const onTty = (extra: string) =>
      spawnSync(
        "script",
        ["-qec", `${process.execPath} ${CLI} diff ${extra} ${SNAPSHOTS} </dev/null`, "/dev/null"],
        { encoding: "utf8", env: { ...process.env, COLUMNS: "200" } },
      );
    const tty = onTty("");
    expect(tty.status).toBe(1);
    expect(tty.stdout).toMatch(/diff \[#+\] 100%/);
    expect(onTty("--quiet").stdout).not.toMatch(/\[#/);
    expect(runCli(["diff", SNAPSHOTS]).stderr).not.toMatch(/\[#/);
  });
});

describe("bitmaps and diff --bitmap", () => {
  it("bitmaps --json lists each bitmap with its flags and dirty extents; in-use ones without extents", () => {
    const r = runCli(["bitmaps", "--json", path("bitmaps")]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as {
      bitmaps: Array<{
        name: string;
        granularity: number;
        flags: string[];
        extents: Range[] | null;
        dirtyBytes: number;
      }>;
    };
    expect(out.bitmaps.map((b) => b.name)).toEqual(["bm-enabled", "bm-disabled"]);
    for (const b of out.bitmaps) {
      expect(b.extents).not.toBeNull();
      expect(b.dirtyBytes).toBe((b.extents as Range[]).reduce((n, e) => n + e.length, 0));
    }
    const inUse = JSON.parse(runCli(["bitmaps", "--json", path("bitmap-in-use")]).stdout) as {
      bitmaps: Array<{ flags: string[]; trusted: boolean; extents: null; problem: string }>;
    };
    expect(inUse.bitmaps[0]?.flags).toContain("in-use");
    expect(inUse.bitmaps[0]?.trusted).toBe(false);
    expect(inUse.bitmaps[0]?.extents).toBeNull();
    expect(inUse.bitmaps[0]?.problem).toMatch(/in-use/);
  });

  it("diff --bitmap prints the same dirty ranges in the shape of a diff", () => {
    const listed = JSON.parse(runCli(["bitmaps", "--json", path("bitmaps")]).stdout) as {
      bitmaps: Array<{ name: string; extents: Range[] }>;
    };
    for (const b of listed.bitmaps) {
      const r = runCli(["diff", "--json", path("bitmaps"), "--bitmap", b.name]);
      expect(r.code).toBe(b.extents.length > 0 ? 1 : 0);
      const d = JSON.parse(r.stdout) as JsonDiff;
      expect(d.from.state).toBe(`bitmap:${b.name}`);
      expect(d.extents.every((e) => e.from === null && typeof e.to.kind === "string")).toBe(true);
      expect(mergeRanges(ranges(d))).toEqual(mergeRanges(b.extents));
    }
  });
});

const skip = qemuOrSkipReason();

describe.skipIf(skip !== undefined)("diff through the CLI against qemu-img convert", () => {
  const dir = skip === undefined ? mkdtempSync(join(tmpdir(), "qcow2-cli-diff-")) : "";
  afterAll(() => {
    if (dir !== "") rmSync(dir, { recursive: true, force: true });
  });
  const raw = (name: string, args: string[]) => {
    const out = join(dir, `${name}.raw`);
    execFileSync("qemu-img", ["convert", ...args, "-O", "raw", out]);
    return out;
  };

  it.each([
    [
      "snapshots",
      ["--from", "snapshot:second"],
      ["-l", "snapshot.name=second", SNAPSHOTS],
      [SNAPSHOTS],
    ],
    [
      "snapshots-first",
      ["--from", "snapshot:first", "--to", "snapshot:second"],
      ["-l", "snapshot.name=first", SNAPSHOTS],
      ["-l", "snapshot.name=second", SNAPSHOTS],
    ],
    ["overlay", ["--from", "backing:1"], [path("base")], [OVERLAY]],
  ])(
    "%s: the exact extents are the sectors qemu-img's exports differ in",
    (name, options, fromArgs, toArgs) => {
      const truth = differingSectors(raw(`${name}-from`, fromArgs), raw(`${name}-to`, toArgs));
      const image = name === "overlay" ? OVERLAY : SNAPSHOTS;
      const r = runCli(["diff", "--json", image, ...options]);
      expect(r.code).toBe(truth.length > 0 ? 1 : 0);
      expect(mergeRanges(ranges(JSON.parse(r.stdout) as JsonDiff))).toEqual(truth);
    },
  );
});
