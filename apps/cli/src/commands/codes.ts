import { codeCatalog } from "@x/qcow2-forensic";
import type { Command } from "commander";
import type { Io } from "../context.js";
import { EXIT } from "../exit.js";

/** Every finding code with severity, category and meaning — generated from the auditor's kind table. */
export function runCodes(options: { json?: boolean }, io: Io): number {
  const codes = codeCatalog();
  if (options.json) {
    io.stdout.write(`${JSON.stringify(codes, null, 2)}\n`);
    return EXIT.ok;
  }
  const width = Math.max(...codes.map((c) => c.code.length));
  for (const c of codes)
    io.stdout.write(
      `${c.code.padEnd(width)}  ${c.severity.padEnd(8)}  ${c.category.padEnd(15)}  ${c.meaning}\n`,
    );
  return EXIT.ok;
}

export function registerCodes(program: Command, io: Io, setExit: (code: number) => void): void {
  program
    .command("codes")
    .description("list every finding code with its severity, category and meaning")
    .option("--json", "print the list as JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  $ qcow2-forensic codes\n  $ qcow2-forensic codes --json | jq '.[] | select(.severity == \"high\")'",
    )
    .action((options: { json?: boolean }) => {
      setExit(runCodes(options, io));
    });
}
