import { Command, CommanderError } from "commander";
import { registerAudit } from "./commands/audit.js";
import { registerBitmaps } from "./commands/bitmaps.js";
import { registerCarve } from "./commands/carve.js";
import { registerCheck } from "./commands/check.js";
import { registerCodes } from "./commands/codes.js";
import { registerCompletion } from "./commands/completion.js";
import { registerDiff } from "./commands/diff.js";
import { registerExport } from "./commands/export.js";
import { registerHash } from "./commands/hash.js";
import { registerInfo } from "./commands/info.js";
import { registerMap } from "./commands/map.js";
import { registerSnapshots } from "./commands/snapshots.js";
import { registerVmstate } from "./commands/vmstate.js";
import { registerVolumes } from "./commands/volumes.js";
import { type Io, TOOL } from "./context.js";
import { CliError, describeError, EXIT } from "./errors.js";

/**
 * Runs the CLI with `argv` (without the node and script entries) and returns
 * the exit code. Never throws: every failure becomes one line on stderr.
 */
export async function main(argv: string[], io: Io): Promise<number> {
  let exitCode: number = EXIT.ok;
  const setExit = (code: number) => {
    exitCode = code;
  };
  const debug = argv.includes("--debug");
  const program = new Command()
    .name(TOOL.name)
    .description("Read-only forensic inspection of QCOW/QCOW2 disk images")
    .version(TOOL.version, "-V, --version")
    .option("--debug", "print stack traces for errors")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .addHelpText(
      "after",
      `
Machine output, and the client each is for:
  audit --format sarif               code-scanning dashboards (checked with sarif-multitool validate)
  audit --format bodyfile            Sleuth Kit's mactime (mactime -b)
  audit --format timeline            Timesketch (CSV import)
  audit --format json|jsonl          scripts, against the published JSON Schema 2020-12
  info|check|map|snapshots --json    scripts written against qemu-img (its keys and values)

Examples:
  $ qcow2-forensic audit disk.qcow2
  $ qcow2-forensic info --json disk.qcow2`,
    );
  registerAudit(program, io, setExit, argv);
  registerInfo(program, io, setExit);
  registerSnapshots(program, io, setExit);
  registerCheck(program, io, setExit);
  registerMap(program, io, setExit);
  registerDiff(program, io, setExit);
  registerBitmaps(program, io, setExit);
  registerExport(program, io, setExit);
  registerHash(program, io, setExit);
  registerVolumes(program, io, setExit);
  registerCarve(program, io, setExit);
  registerVmstate(program, io, setExit);
  registerCodes(program, io, setExit);
  registerCompletion(program, io, setExit);
  for (const c of program.commands)
    c.exitOverride().option("--debug", "print stack traces for errors");

  try {
    await program.parseAsync(argv, { from: "user" });
    return exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version end with code 0 ("(outputHelp)" / "commander.version").
      return e.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (e instanceof CliError) {
      io.stderr.write(`qcow2-forensic: ${e.message}\n`);
      return e.exitCode;
    }
    io.stderr.write(`qcow2-forensic: ${describeError(e).message}\n`);
    if (debug && e instanceof Error && e.stack) io.stderr.write(`${e.stack}\n`);
    return EXIT.unreadable;
  }
}
