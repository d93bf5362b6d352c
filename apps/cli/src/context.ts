import { homepage, version } from "../package.json";

/**
 * The tool identity printed by `--version` and stamped into reports;
 * `informationUri` (the package's homepage) is where SARIF viewers send a reader.
 */
export const TOOL = { name: "qcow2-forensic", version, informationUri: homepage } as const;

/** Where a command writes; injectable so tests and the CLI share code paths. */
export interface Io {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: Record<string, string | undefined>;
  /** Where `--from-file -` reads (default: the process's standard input). */
  stdin?: NodeJS.ReadableStream;
}

export const processIo: Io = {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  // A getter: opening standard input costs start-up time, and only `--from-file -` reads it.
  get stdin() {
    return process.stdin;
  },
};
