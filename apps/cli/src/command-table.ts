import type { Command } from "commander";
import type { CommandName } from "./command-names.js";
import type { Io } from "./context.js";

/** Declares one command (its options, help and action) on the program. */
export type Register = (
  program: Command,
  io: Io,
  setExit: (code: number) => void,
  argv: string[],
) => void;

/**
 * Every command, each behind a dynamic import, so a run compiles the code of
 * the command it runs and nothing else. The build replaces this table in each
 * per-command bundle by one holding only that command (tsup.config.ts), which
 * is what keeps `info` from compiling the audit's renderers, workers or crypto.
 */
export const COMMANDS: Readonly<Partial<Record<CommandName, () => Promise<Register>>>> = {
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
