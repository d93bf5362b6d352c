// Apart from errors.ts, which needs the core: the program's entry imports these
// before it knows the command, and must not compile the parser to print --version.

/** Exit codes shared by every command (SPEC §6). */
export const EXIT = {
  ok: 0,
  /** audit: a finding at or above --fail-on. */
  findings: 1,
  usage: 2,
  /** An image could not be read (audit reports the others). */
  unreadable: 3,
} as const;

/** An error the CLI reports as one line and a chosen exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}
