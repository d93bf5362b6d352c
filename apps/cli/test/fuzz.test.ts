import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadFixtureSet, qcowEntries } from "../../../fixtures/harness/index.js";
import { structureMutants } from "../../../fixtures/harness/structure.js";
import { type MainResult, runMain } from "./in-process.js";

// Structure-aware mutants (boundary values in every table entry a real image
// has) through every read-only command, in this process. Every run must end
// in a result or a one-line typed error: never an internal error, a stack
// trace or an exit code outside the command's documented set.
const set = loadFixtureSet();
const work = mkdtempSync(join(tmpdir(), "qcow2-cli-fuzz-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Fixtures whose structures differ most: snapshots and VM state, compression, subclusters, bitmaps, chains, QCOW1. */
const IMAGES = [
  "snapshots",
  "vmstate",
  "compressed-zlib",
  "zstd",
  "extended-l2",
  "bitmaps",
  "overlay",
  "refcount-bits-1",
  "qcow1",
];
/** Every n-th mutant of each image: a fixed, deterministic sample that keeps the run short. */
const STRIDE = 7;

/** The documented exit codes of each command. */
const EXITS: Record<string, number[]> = {
  info: [0, 3],
  snapshots: [0, 3],
  audit: [0, 1, 3],
  check: [0, 1, 2, 3, 63],
  map: [0, 3],
  hash: [0, 3],
  export: [0, 3],
  carve: [0, 3],
  vmstate: [0, 3],
  // 0 identical, 1 different, 2 nothing to compare with (no snapshot, no backing file), 3 unreadable.
  diff: [0, 1, 2, 3],
  bitmaps: [0, 3],
  volumes: [0, 3],
};

function commands(image: string, n: number): string[][] {
  const out = join(work, `out-${n}`);
  return [
    ["info", image],
    ["info", "--json", image],
    ["snapshots", image],
    ["snapshots", "--json", image],
    ["snapshots", "--format", "bodyfile", image],
    ...["text", "json", "jsonl", "csv", "sarif", "html", "timeline", "bodyfile"].map((f) => [
      "audit",
      "--format",
      f,
      "--now",
      "2030-01-01T00:00:00Z",
      image,
    ]),
    ["audit", "--quick", image],
    ["check", image],
    ["check", "--json", image],
    ["map", image],
    ["map", "--json", image],
    ["map", "--format", "svg", image],
    ["hash", "--quiet", image],
    ["hash", "--quiet", "--snapshot", "1", image],
    ["export", "--quiet", image, `${out}.raw`],
    ["carve", image, `${out}-carve`],
    ["vmstate", "--snapshot", "1", image, `${out}.vm`],
    ["diff", image],
    ["diff", "--metadata-only", "--format", "jsonl", image],
    ["bitmaps", "--json", image],
    ["volumes", image],
    ["volumes", "--json", "--snapshot", "1", image],
  ];
}

/** What is wrong with one run, or null. */
function broken(r: MainResult): string | null {
  const command = r.args[0] as string;
  if (!(EXITS[command] ?? []).includes(r.code)) return `exit code ${r.code}`;
  // The CLI's marker for an untyped error (errors.ts), in any output.
  if (
    /internal error \(a bug|"INTERNAL"|error INTERNAL|,INTERNAL,|<code>INTERNAL<\/code>/.test(
      r.stderr + r.stdout,
    )
  )
    return "internal error";
  if (/\n\s+at .+:\d+:\d+\)?\n/.test(r.stderr)) return "stack trace";
  // audit and check report on stdout; diff's 1 means "the states differ".
  const reports =
    command === "audit" || command === "check" || (command === "diff" && r.code === 1);
  if (r.code !== 0 && r.stderr.trim() === "" && !reports) return "failed without saying why";
  return null;
}

describe("CLI fuzzing (structure-aware, fixed sample)", () => {
  for (const name of IMAGES) {
    it(`${name}: every read-only command ends in a result or a typed one-line error`, async () => {
      const entry = qcowEntries(set).find((e) => e.name === name);
      if (entry === undefined) throw new Error(`no fixture ${name}`);
      const original = new Uint8Array(readFileSync(set.path(entry)));
      const image = join(work, `${name}.qcow2`);
      let tried = 0;
      let n = 0;
      for (const m of structureMutants(original)) {
        if (n++ % STRIDE !== 0) continue;
        tried++;
        writeFileSync(image, m.bytes);
        for (const args of commands(image, n)) {
          const r = await runMain(args);
          const why = broken(r);
          if (why !== null)
            throw new Error(
              `${name}, ${m.detail}: qcow2-forensic ${args.join(" ")}: ${why}\n${r.stderr}`,
            );
        }
        rmSync(join(work, `out-${n}-carve`), { recursive: true, force: true });
        rmSync(join(work, `out-${n}.raw`), { force: true });
        rmSync(join(work, `out-${n}.vm`), { force: true });
      }
      console.info(`[cli-fuzz] ${name}: ${tried} mutants × ${commands(image, 0).length} commands`);
      expect(tried).toBeGreaterThan(0);
    }, 600_000);
  }
});
