import { dirname } from "node:path";
import { describe, expect, it } from "vitest";
import {
  type FixtureSet,
  loadFixtureSet,
  qcowEntries,
  stableInfo,
} from "../../../fixtures/harness/index.js";
import { parseJsonOutput, runCli } from "./run-cli.js";

const EXTRA_KEY = "qcow2-forensic";

/** `info --json` run as qemu-img was: from the image's folder with a relative name. */
function infoJson(set: FixtureSet, name: string): Record<string, unknown> {
  const entry = set.entries.find((e) => e.name === name);
  if (!entry) throw new Error(`no fixture ${name}`);
  const path = set.path(entry);
  const r = runCli(["info", "--json", path.split("/").pop() as string], { cwd: dirname(path) });
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return parseJsonOutput(r) as Record<string, unknown>;
}

export function defineInfoSuite(label: string, getSet: () => FixtureSet): void {
  describe(label, () => {
    for (const entry of qcowEntries(loadFixtureSet())) {
      it(`${entry.name}: info --json equals qemu-img info --output=json key for key`, () => {
        const set = getSet();
        const qemuAnswer = set.answerJson(entry.name, "info.json");
        if (qemuAnswer === undefined) {
          // qemu-img info refuses it; ours still reports, with the problem among the extra facts.
          const extra = infoJson(set, entry.name)[EXTRA_KEY] as {
            problems: unknown[];
            "incompatible-features": { unknownBits: number[] };
          };
          expect(
            extra.problems.length + extra["incompatible-features"].unknownBits.length,
          ).toBeGreaterThan(0);
          return;
        }
        const ours = infoJson(set, entry.name);
        expect(ours[EXTRA_KEY]).toBeDefined();
        delete ours[EXTRA_KEY];
        const qemu = set.answerJson(entry.name, "info.json") as Record<string, unknown>;
        expect(stableInfo(ours)).toEqual(stableInfo(qemu));
      });
    }
  });
}
