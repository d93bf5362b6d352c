import { readFile } from "node:fs";
import type { Command } from "commander";
import { CliError, EXIT } from "./exit.js";

/** Options that carry a passphrase: never on the command line, never from the environment. */
export interface PassphraseOptions {
  passphraseFile?: string;
  askPassphrase?: boolean;
}

/** Adds --passphrase-file and --ask-passphrase to a command. */
export function withPassphraseOptions(command: Command): Command {
  return command
    .option(
      "--passphrase-file <file>",
      "passphrase of an encrypted image: the file's exact bytes (a final newline is tolerated)",
    )
    .option("--ask-passphrase", "prompt for the passphrase on the terminal (no echo)");
}

/** Reads a line from the terminal without echoing it. */
async function promptHidden(prompt: string): Promise<Uint8Array> {
  const stdin = process.stdin;
  if (!stdin.isTTY)
    throw new CliError(
      "--ask-passphrase needs a terminal on stdin; use --passphrase-file",
      EXIT.usage,
    );
  process.stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.resume();
  const bytes: number[] = [];
  try {
    await new Promise<void>((done, fail) => {
      const onData = (chunk: Buffer) => {
        for (const b of chunk) {
          if (b === 0x0d || b === 0x0a) {
            stdin.off("data", onData);
            done();
            return;
          }
          if (b === 0x03) {
            stdin.off("data", onData);
            fail(new CliError("passphrase entry cancelled", EXIT.usage));
            return;
          }
          if (b === 0x7f || b === 0x08) bytes.pop();
          else bytes.push(b);
        }
      };
      stdin.on("data", onData);
    });
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
    process.stderr.write("\n");
  }
  return Uint8Array.from(bytes);
}

/**
 * The passphrase candidates the options give: the file's exact bytes, then
 * (if it ends with a newline) without it — `echo pass > file` is common.
 */
export async function readPassphrases(options: PassphraseOptions): Promise<Uint8Array[]> {
  if (options.passphraseFile !== undefined && options.askPassphrase) {
    throw new CliError("give --passphrase-file or --ask-passphrase, not both", EXIT.usage);
  }
  if (options.askPassphrase) return [await promptHidden("Passphrase: ")];
  if (options.passphraseFile === undefined) return [];
  let bytes: Uint8Array;
  try {
    const file = options.passphraseFile;
    // node:fs's callback form: node:fs/promises costs every run's start-up to load.
    bytes = await new Promise<Uint8Array>((done, fail) =>
      readFile(file, (e, data) => (e ? fail(e) : done(new Uint8Array(data)))),
    );
  } catch (e) {
    throw new CliError(
      `${options.passphraseFile}: cannot read the passphrase file (${(e as Error).message})`,
      EXIT.usage,
    );
  }
  const out = [bytes];
  let end = bytes.length;
  if (bytes[end - 1] === 0x0a) end--;
  if (bytes[end - 1] === 0x0d) end--;
  if (end !== bytes.length) out.push(bytes.subarray(0, end));
  return out;
}
