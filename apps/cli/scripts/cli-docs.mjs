#!/usr/bin/env node
// Generates docs/cli.md from the built CLI's own --help, so the manual cannot
// drift from the program (a test compares the committed file with this output).
import { execFileSync, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const cli = join(here, "../dist/cli.js");
const help = (...args) =>
  execFileSync(process.execPath, [cli, ...args, "--help"], {
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1", COLUMNS: "100" },
  });

const root = join(here, "../../..");

/** Runs the CLI from the repository root, as the worked examples show it: output and exit code. */
const example = (...args) => {
  const r = spawnSync(process.execPath, [cli, ...args], {
    cwd: root,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1", COLUMNS: "100" },
  });
  return `$ qcow2-forensic ${args.join(" ")}\n${r.stdout.trimEnd()}\n$ echo $?\n${r.status}`;
};

/**
 * Worked examples with their real output, run on a committed fixture: two
 * snapshots, writes after each (fixtures/README.md tells how it was made).
 */
function workedExamples() {
  const image = "fixtures/images/snapshots.qcow2";
  let out = "\n## Worked example: what changed since a snapshot\n\n";
  out +=
    "`fixtures/images/snapshots.qcow2` has two internal snapshots, `first` and `second`; after `second` the guest wrote 1 KiB at 64 KiB and 2 KiB at 128 KiB, zeroed 4 KiB at 16 KiB and discarded 4 KiB at 0 (`fixtures/make.sh`). `diff` compares the newest snapshot with the active disk by default. Exactly: only the sectors that differ, and only the clusters whose mappings differ are read:\n\n";
  out += `\`\`\`\n${example("diff", image)}\n\`\`\`\n\n`;
  out +=
    "From the metadata alone, nothing read: every cluster whose mapping differs (a superset — the 1 KiB write shows as its whole 4 KiB cluster):\n\n";
  out += `\`\`\`\n${example("diff", image, "--metadata-only")}\n\`\`\`\n\n`;
  out +=
    "The same comparison as JSON, the extents in guest order with how each side stores them:\n\n";
  out += `\`\`\`\n${example("diff", image, "--from", "snapshot:second", "--json")}\n\`\`\`\n`;
  return out;
}

export function cliDocs() {
  const top = help();
  // Only the "Commands:" block names commands; the text after it may indent examples too.
  const block = top.slice(top.indexOf("\nCommands:\n")).split("\n\n")[0];
  const commands = [...block.matchAll(/^ {2}([a-z]+)\b/gm)]
    .map((m) => m[1])
    .filter((c) => c !== "help");
  let out = "# qcow2-forensic — command reference\n\n";
  out +=
    "Generated from the program's own `--help` by `apps/cli/scripts/cli-docs.mjs`; a test fails if it drifts.\n\n";
  out += `## qcow2-forensic\n\n\`\`\`\n${top.trimEnd()}\n\`\`\`\n`;
  for (const c of commands)
    out += `\n## qcow2-forensic ${c}\n\n\`\`\`\n${help(c).trimEnd()}\n\`\`\`\n`;
  return out + workedExamples();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(join(here, "../../../docs/cli.md"), cliDocs());
}
