import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { loadFixtureSet, qemuOrSkipReason } from "../../../fixtures/harness/index.js";
import { mactimeSkipReason, mapLimit, runCliAsync } from "./client-tools.js";
import { runCli } from "./run-cli.js";

// The body file read by the Sleuth Kit's own mactime: one row per event, dated
// as qemu-img dates the snapshot. mactime's comma-separated ISO 8601 output
// (-d -y, in UTC) is parsed as it prints it.

const set = loadFixtureSet();
const REPO = resolve(set.dir, "..");
const skip = mactimeSkipReason();

interface Row {
  date: string;
  type: string;
  name: string;
}

/** mactime -d: a header, then `Date,Size,Type,Mode,UID,GID,Meta,File Name` rows (the name quoted CSV-style). */
function mactime(body: string): Row[] {
  const dir = mkdtempSync(join(tmpdir(), "qcow2-mactime-"));
  const file = join(dir, "body.txt");
  writeFileSync(file, body);
  const out = execFileSync("mactime", ["-b", file, "-d", "-y", "-z", "UTC"], { encoding: "utf8" });
  const [header, ...lines] = out.split("\n").filter((l) => l !== "");
  expect(header).toBe("Date,Size,Type,Mode,UID,GID,Meta,File Name");
  return lines.map((line) => {
    const m = /^([^,]*),[^,]*,([^,]*),[^,]*,[^,]*,[^,]*,[^,]*,(.*)$/.exec(line);
    if (!m) throw new Error(`unexpected mactime row: ${line}`);
    const raw = m[3] as string;
    const name = raw.startsWith('"') ? raw.slice(1, -1).replaceAll('""', '"') : raw;
    return { date: m[1] as string, type: m[2] as string, name };
  });
}

const isoSeconds = (sec: number) => new Date(sec * 1000).toISOString().replace(/\.000Z$/, "Z");

type QemuSnapshot = { id: string; name: string; "date-sec": number };
const qemuSnapshots = (fixture: string) =>
  set.answerJson<{ snapshots?: QemuSnapshot[] }>(fixture, "info.json")?.snapshots ?? [];

/** The row mactime should print for a snapshot, dated as qemu-img dates it. */
const rowFor = (path: string, s: QemuSnapshot) =>
  `${isoSeconds(s["date-sec"])}|macb|${path}:snapshot ${s.id} "${s.name}" (internal snapshot created)`;

/** Every snapshot qemu-img lists for a fixture, as mactime should print it. */
function expectedRows(path: string, fixture: string): string[] {
  return qemuSnapshots(fixture).map((s) => rowFor(path, s));
}

const asText = (rows: Row[]) => rows.map((r) => `${r.date}|${r.type}|${r.name}`).sort();

if (skip !== undefined) {
  describe("bodyfile read by mactime", () => {
    it.skip(skip, () => {});
  });
} else {
  describe("bodyfile read by mactime", () => {
    const fixtures = set.entries.map((e) => ({ name: e.name, path: relative(REPO, set.path(e)) }));
    let batch = "";
    let snapshotFindings: Array<{ fixture: string; path: string; id: string; name: string }> = [];

    beforeAll(async () => {
      const paths = fixtures.map((f) => f.path);
      // Body files have no header or footer: a batch's file is every fixture's lines, one after another.
      const [body, json] = await Promise.all([
        runCliAsync(["audit", "--format", "bodyfile", ...paths], REPO),
        runCliAsync(["audit", "--format", "json", ...paths], REPO),
      ]);
      batch = body.stdout;
      const images = JSON.parse(json.stdout).images as Array<{
        path: string;
        findings: Array<{ code: string; evidence: Array<{ field: string; value: string }> }>;
      }>;
      snapshotFindings = images.flatMap((img) =>
        img.findings
          .filter((f) => f.code === "QCOW2-SNAPSHOT")
          .map((f) => {
            const value = (field: string) => f.evidence.find((e) => e.field === field)?.value;
            const fixture = fixtures.find((x) => x.path === img.path)?.name ?? "";
            return {
              fixture,
              path: img.path,
              id: value("snapshot_id") ?? "",
              name: value("snapshot_name") ?? "",
            };
          }),
      );
    }, 120_000);

    it("audit --format bodyfile: exactly one row per snapshot the audit reports, dated as qemu-img dates it", () => {
      // The events are the audit's QCOW2-SNAPSHOT findings; each date is qemu-img's for that snapshot.
      const expected = snapshotFindings
        .map((e) => {
          const s = qemuSnapshots(e.fixture).find((q) => q.id === e.id && q.name === e.name);
          if (s === undefined)
            throw new Error(`qemu-img lists no snapshot ${e.id} "${e.name}" in ${e.fixture}`);
          return rowFor(e.path, s);
        })
        .sort();
      expect(expected.length).toBeGreaterThanOrEqual(10);
      const rows = mactime(batch);
      expect(rows.filter((r) => r.date.startsWith("0000"))).toEqual([]);
      expect(asText(rows)).toEqual(expected);
    });

    it("snapshots --format bodyfile: the same rows, image by image", async () => {
      const withSnapshots = fixtures.filter((f) => expectedRows(f.path, f.name).length > 0);
      const bodies = await mapLimit(withSnapshots, 2, (f) =>
        runCliAsync(["snapshots", "--format", "bodyfile", f.path], REPO),
      );
      for (const [i, f] of withSnapshots.entries()) {
        expect(asText(mactime(bodies[i]?.stdout ?? "")), f.name).toEqual(
          expectedRows(f.path, f.name).sort(),
        );
      }
    });

    const qemu = qemuOrSkipReason();
    it.skipIf(qemu !== undefined)(
      "a snapshot name with |, %, a line break and non-ASCII comes out of mactime as it went in",
      () => {
        const dir = mkdtempSync(join(tmpdir(), "qcow2-mactime-name-"));
        const image = join(dir, "odd.qcow2");
        const name = "a|b %41 c\nd é";
        execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", image, "1M"]);
        execFileSync("qemu-img", ["snapshot", "-c", name, image]);
        const [row, ...more] = mactime(runCli(["audit", "--format", "bodyfile", image]).stdout);
        expect(more).toEqual([]);
        // mactime restores "|" and "%"; the line break stays escaped, or it would split the row.
        expect(row?.name).toBe(`${image}:snapshot 1 "a|b %41 c\\nd é" (internal snapshot created)`);
        expect(row?.type).toBe("macb");
      },
    );
  });
}
