import { spawn, spawnSync } from "node:child_process";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The built CLI, as a user runs it. */
export const CLI = resolve(dirname(fileURLToPath(import.meta.url)), "../dist/cli.js");

export interface CliResult {
  code: number;
  /** The signal that ended the process, if one did. */
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The arguments, for messages. */
  args: string[];
}

/** Spawns `node dist/cli.js ...args` and collects its output. */
export function runCli(
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: options.cwd,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1", ...options.env },
    // Batch reports of every fixture are a few MB; the 1 MiB default would cut them.
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.error) throw new Error(`could not run the CLI (${args.join(" ")}): ${r.error.message}`);
  return {
    code: r.status ?? -1,
    signal: r.signal,
    stdout: r.stdout,
    stderr: r.stderr,
    args,
  };
}

/** What a run did, for a failing assertion: exit code, signal, stderr. */
export function explain(r: CliResult): string {
  return `qcow2-forensic ${r.args.join(" ")}\n  exit ${r.code}${r.signal ? `, signal ${r.signal}` : ""}\n  stderr: ${r.stderr.trim() || "(empty)"}\n  stdout: ${r.stdout.length} bytes`;
}

/** The run's stdout parsed as JSON, or an error that says what the process did. */
// biome-ignore lint/suspicious/noExplicitAny: tests read the CLI's JSON loosely, as a user's script would.
export function parseJsonOutput<T = any>(r: CliResult): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch (e) {
    throw new Error(`stdout is not JSON (${(e as Error).message}):\n${explain(r)}`);
  }
}

/**
 * {@link runCli} without blocking the event loop, for suites whose server
 * (an HTTP server on 127.0.0.1) runs in the test process itself.
 */
export function runCliAsync(
  args: string[],
  options: { cwd?: string; env?: Record<string, string>; input?: string } = {},
): Promise<CliResult & { stdoutBytes: Buffer }> {
  return runAsync(process.execPath, [CLI, ...args], options);
}

/** Runs any program without blocking the event loop. */
export function runAsync(
  program: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string>; input?: string } = {},
): Promise<CliResult & { stdoutBytes: Buffer }> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, {
      cwd: options.cwd,
      env: { ...process.env, NO_COLOR: "1", ...options.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      const stdoutBytes = Buffer.concat(out);
      resolve({
        code: code ?? -1,
        signal,
        stdout: stdoutBytes.toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
        args,
        stdoutBytes,
      });
    });
    child.stdin.end(options.input ?? "");
  });
}
