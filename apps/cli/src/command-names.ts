/**
 * Every command's name, in `--help` order. A name is also where its code lives:
 * `src/commands/<name>.ts` exports `register<Name>`, and the build makes one
 * bundle per name (see tsup.config.ts).
 */
export const COMMAND_NAMES = [
  "audit",
  "info",
  "snapshots",
  "check",
  "map",
  "diff",
  "bitmaps",
  "export",
  "hash",
  "volumes",
  "carve",
  "vmstate",
  "codes",
  "completion",
] as const;

/** One command of the CLI. */
export type CommandName = (typeof COMMAND_NAMES)[number];

/** Options of the program itself; none takes a value, so the first other word names the command. */
const VERSION_FLAGS = new Set(["-V", "--version"]);

const isCommandName = (word: string): word is CommandName =>
  (COMMAND_NAMES as readonly string[]).includes(word);

/**
 * The commands a run must declare: the one `argv` names; none for a bare
 * `--version`; all of them otherwise (top-level help lists them, `help <cmd>`
 * and completion read them, and an unknown name gets commander's suggestion).
 */
export function commandsFor(argv: readonly string[]): CommandName[] {
  const word = argv.find((a) => !a.startsWith("-"));
  if (
    word === undefined &&
    argv.some((a) => VERSION_FLAGS.has(a)) &&
    !argv.includes("--help") &&
    !argv.includes("-h")
  )
    return [];
  if (word !== undefined && word !== "completion" && isCommandName(word)) return [word];
  return [...COMMAND_NAMES];
}

/**
 * The bundle of the built CLI that serves `argv`: the named command's own
 * (`cli-info.js` holds `info` and nothing else), `bare` for a bare `--version`,
 * `all` otherwise. Chosen by {@link commandsFor}, so a bundle always declares
 * exactly the commands its run needs.
 */
export function bundleFor(argv: readonly string[]): CommandName | "bare" | "all" {
  const names = commandsFor(argv);
  if (names.length === 0) return "bare";
  if (names.length === 1) return names[0] as CommandName;
  return "all";
}
