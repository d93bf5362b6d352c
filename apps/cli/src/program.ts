import { Command, CommanderError } from "commander";
import { commandsFor } from "./command-names.js";
import { COMMANDS } from "./command-table.js";
import { type Io, TOOL } from "./context.js";
import { CliError, EXIT } from "./exit.js";

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
  const names = commandsFor(argv);
  const registers = await Promise.all(
    names.map((name) => {
      const load = COMMANDS[name];
      // The launcher picks the bundle by the same commandsFor(), so this is a build fault.
      if (load === undefined) throw new Error(`this bundle of the CLI has no '${name}' command`);
      return load();
    }),
  );
  for (const register of registers) register(program, io, setExit, argv);
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
    const { describeError } = await import("./errors.js");
    io.stderr.write(`qcow2-forensic: ${describeError(e).message}\n`);
    if (debug && e instanceof Error && e.stack) io.stderr.write(`${e.stack}\n`);
    return EXIT.unreadable;
  }
}
