import { isQcow2Error } from "@x/qcow2-core";
import { isVolumesError } from "@x/volumes";

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

/**
 * The code of an error that no input should ever cause: a bug of this tool,
 * never a verdict on the image. Tests and fuzzers treat it as a failure.
 */
export const INTERNAL = "INTERNAL";

/** Node's own system errors (ENOENT, EACCES, EISDIR, …) keep their code: they are about the file. */
function systemCode(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^E[A-Z0-9]+$/.test(code) ? code : undefined;
}

/** One line naming the file and the problem; never a stack trace. */
export function describeError(e: unknown, file?: string): { code: string; message: string } {
  // A guest read that failed in the image reader is the reader's error (its code names the cause).
  if (isVolumesError(e) && isQcow2Error(e.cause)) return describeError(e.cause, file);
  if (isVolumesError(e))
    return { code: e.code, message: file === undefined ? e.message : `${file}: ${e.message}` };
  if (isQcow2Error(e)) {
    const where = e.file ?? file;
    return { code: e.code, message: where === undefined ? e.message : `${where}: ${e.message}` };
  }
  const text = e instanceof Error ? e.message : String(e);
  const system = systemCode(e);
  if (system !== undefined)
    return { code: system, message: file === undefined ? text : `${file}: ${text}` };
  const name = e instanceof Error ? e.name : typeof e;
  const message = `internal error (a bug in qcow2-forensic, please report it; --debug shows where): ${name}: ${text}`;
  return { code: INTERNAL, message: file === undefined ? message : `${file}: ${message}` };
}
