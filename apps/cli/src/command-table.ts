import type { Command } from "commander";
import type { Io } from "./context.js";

/** Declares one command (its options, help and action) on the program. */
export type Register = (
  program: Command,
  io: Io,
  setExit: (code: number) => void,
  argv: string[],
) => void;

/**
 * Every command, in `--help` order, each behind a dynamic import: a run loads
 * the module of the command it runs and nothing else (the bundle splits at
 * these imports), so `info` never compiles the audit's renderers, workers or
 * crypto. Help, completion and unknown commands load them all.
 */
export const COMMANDS: Readonly<Record<string, () => Promise<Register>>> = {
  audit: async () => (await import("./commands/audit.js")).registerAudit,
  info: async () => (await import("./commands/info.js")).registerInfo,
  snapshots: async () => (await import("./commands/snapshots.js")).registerSnapshots,
  check: async () => (await import("./commands/check.js")).registerCheck,
  map: async () => (await import("./commands/map.js")).registerMap,
  diff: async () => (await import("./commands/diff.js")).registerDiff,
  bitmaps: async () => (await import("./commands/bitmaps.js")).registerBitmaps,
  export: async () => (await import("./commands/export.js")).registerExport,
  hash: async () => (await import("./commands/hash.js")).registerHash,
  volumes: async () => (await import("./commands/volumes.js")).registerVolumes,
  carve: async () => (await import("./commands/carve.js")).registerCarve,
  vmstate: async () => (await import("./commands/vmstate.js")).registerVmstate,
  codes: async () => (await import("./commands/codes.js")).registerCodes,
  completion: async () => (await import("./commands/completion.js")).registerCompletion,
};

/** Options of the program itself; none takes a value, so the first other word names the command. */
const VERSION_FLAGS = new Set(["-V", "--version"]);

/**
 * The commands a run must declare: the one `argv` names; none for a bare
 * `--version`; all of them otherwise (top-level help lists them, `help <cmd>`
 * and completion read them, and an unknown name gets commander's suggestion).
 */
export function commandsFor(argv: readonly string[]): string[] {
  const word = argv.find((a) => !a.startsWith("-"));
  if (
    word === undefined &&
    argv.some((a) => VERSION_FLAGS.has(a)) &&
    !argv.includes("--help") &&
    !argv.includes("-h")
  )
    return [];
  if (word !== undefined && word !== "completion" && Object.hasOwn(COMMANDS, word)) return [word];
  return Object.keys(COMMANDS);
}
