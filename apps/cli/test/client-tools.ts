import { spawn, spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { CLI, type CliResult } from "./run-cli.js";

/**
 * When a client tool the suite checks our output with cannot run: the reason,
 * printed, so the suite skips visibly; or a thrown error when
 * `QCOW2_FORENSIC_REQUIRE_QEMU` is set (CI installs every tool and must not skip).
 */
export function clientOrSkipReason(runs: boolean, reason: string): string | undefined {
  if (runs) return undefined;
  if (process.env.QCOW2_FORENSIC_REQUIRE_QEMU)
    throw new Error(`QCOW2_FORENSIC_REQUIRE_QEMU is set but ${reason}`);
  console.warn(`[clients] ${reason}`);
  return reason;
}

/** Sleuth Kit's `mactime` (Debian `sleuthkit`). */
export function mactimeSkipReason(): string | undefined {
  const r = spawnSync("mactime", ["-V"], { encoding: "utf8" });
  return clientOrSkipReason(
    !r.error && /sleuth kit/i.test(`${r.stdout}${r.stderr}`),
    "mactime not on PATH (apt-get install sleuthkit): mactime suite skipped",
  );
}

/**
 * Microsoft's SARIF Multitool: the native binary that `@microsoft/sarif-multitool`
 * installs for this platform (a devDependency). .NET's invariant globalization
 * mode lets it run without ICU (libicu) installed; validation needs no culture data.
 */
export const SARIF_MULTITOOL_ENV = { ...process.env, DOTNET_SYSTEM_GLOBALIZATION_INVARIANT: "1" };

export function sarifMultitool(): { path: string } | { skip: string } {
  let path: string;
  try {
    path = createRequire(import.meta.url)("@microsoft/sarif-multitool") as string;
  } catch (e) {
    return { skip: reasonFor(`no SARIF Multitool package for ${process.platform}: ${e}`) };
  }
  const r = spawnSync(path, ["--version"], { encoding: "utf8", env: SARIF_MULTITOOL_ENV });
  if (r.error || r.status !== 0)
    return {
      skip: reasonFor(
        `the SARIF Multitool binary does not run on ${process.platform}-${process.arch} (${r.error?.message ?? r.stderr.trim()})`,
      ),
    };
  return { path };
}

function reasonFor(why: string): string {
  return clientOrSkipReason(false, `${why}: SARIF validator suite skipped`) as string;
}

/** Runs the built CLI without blocking, so several can run at once. */
export function runCliAsync(args: string[], cwd?: string): Promise<CliResult> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd,
      env: { ...process.env, NO_COLOR: "1" },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
    });
    child.on("error", fail);
    child.on("close", (code, signal) => done({ code: code ?? -1, signal, stdout, stderr, args }));
  });
}

/** Maps `items` through `fn`, `limit` at a time (the machine has two cores). */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return out;
}
