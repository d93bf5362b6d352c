#!/usr/bin/env node
// Generates docs/cli.md from the built CLI's own --help, so the manual cannot
// drift from the program (a test compares the committed file with this output).
import { execFileSync } from "node:child_process";
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
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(join(here, "../../../docs/cli.md"), cliDocs());
}
