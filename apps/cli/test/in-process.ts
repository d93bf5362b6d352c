import { main } from "../src/program.js";

/** What one in-process run of the CLI did. */
export interface MainResult {
  code: number;
  stdout: string;
  stderr: string;
  args: string[];
}

/**
 * Runs the CLI's `main` in this process (no spawn): the same code paths as
 * the binary, fast enough to drive thousands of inputs through every command.
 */
export async function runMain(args: string[]): Promise<MainResult> {
  let stdout = "";
  let stderr = "";
  const sink = (append: (s: string) => void) => ({
    write: (chunk: string | Uint8Array) => {
      append(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("latin1"));
      return true;
    },
    isTTY: false,
  });
  const io = {
    stdout: sink((s) => {
      stdout += s;
    }),
    stderr: sink((s) => {
      stderr += s;
    }),
    env: { NO_COLOR: "1" },
  } as unknown as Parameters<typeof main>[1];
  const code = await main(args, io);
  return { code, stdout, stderr, args };
}
