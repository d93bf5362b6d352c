import { spawnSync } from "node:child_process";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The built CLI, as a user runs it. */
export const CLI = resolve(dirname(fileURLToPath(import.meta.url)), "../dist/cli.js");

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
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
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
