/**
 * Runs the CLI's command bundles with V8's code cache: the first run of a
 * bundle saves the code V8 compiled for it, later runs load that instead of
 * compiling the bundle's text again (a third of a short command's start-up).
 *
 * Node 22.1+ has this built in for modules (`module.enableCompileCache`);
 * Node 20 has not, so this does it with `vm.Script`'s cached data, on every
 * Node alike. The cache lives with the user's other caches
 * (`$XDG_CACHE_HOME/qcow2-forensic/code-cache`, else `~/.cache/…`), never
 * near the evidence; it is only read when its owner is the user running the
 * tool (it holds code), and it is skipped, silently, wherever it cannot be
 * written. `QCOW2_FORENSIC_NO_CODE_CACHE=1` turns it off.
 */
import {
  closeSync,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";
import { Script } from "node:vm";

/** Where the cache lives for `env`, or null when it is turned off or there is no home to keep it in. */
export function codeCacheDir(env: NodeJS.ProcessEnv = process.env): string | null {
  if (env.QCOW2_FORENSIC_NO_CODE_CACHE) return null;
  const base = env.XDG_CACHE_HOME || (env.HOME ? join(env.HOME, ".cache") : "");
  return base ? join(base, "qcow2-forensic", "code-cache") : null;
}

/**
 * Runs the command bundle `file` as Node would run a CommonJS module, its
 * compiled code cached. The bundle's text is a module body already wrapped as
 * Node wraps one, `(function (exports, require, module, __filename, __dirname) {…})`
 * (apps/cli/scripts/build.mjs), so it is compiled as it is, without a second
 * copy of it with the wrapper added.
 */
export function runBundle(file: string, requireFrom: NodeJS.Require): void {
  const dir = codeCacheDir();
  const name = basename(file);
  const st = statSync(file);
  // V8 checks a cache against the text's length, its own version and flags; a
  // rebuild changes the file's size or time, and another Node gives another key.
  const key = `${name}-${st.size}-${Math.trunc(st.mtimeMs)}-${process.version}-${process.arch}.v8`;
  // The bundles are ASCII (scripts/build.mjs): one byte per character.
  const source = readFileSync(file, "latin1");
  const cached = dir === null ? undefined : readOwnCache(join(dir, key));
  const script = new Script(source, {
    filename: file,
    ...(cached ? { cachedData: cached } : {}),
  });
  if (dir !== null && (cached === undefined || script.cachedDataRejected)) {
    // After the run: the cache then holds every function the run compiled, not only the top level.
    process.once("exit", () => saveCache(dir, name, key, script.createCachedData()));
  }
  const body = script.runInThisContext() as (...args: unknown[]) => void;
  const module = { exports: {}, filename: file, id: file, loaded: false };
  body.call(module.exports, module.exports, requireFrom, module, file, dirname(file));
  module.loaded = true;
}

function readOwnCache(path: string): Buffer | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, "r");
    const st = fstatSync(fd);
    if (!st.isFile() || (process.getuid !== undefined && st.uid !== process.getuid()))
      return undefined;
    return readFileSync(fd);
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function saveCache(dir: string, name: string, key: string, data: Buffer): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    // Caches of earlier builds of this bundle are dead weight.
    for (const old of readdirSync(dir))
      if (old !== key && old.startsWith(`${name}-`)) unlinkSync(join(dir, old));
    const temporary = join(dir, `.${key}.${process.pid}`);
    writeFileSync(temporary, data, { mode: 0o600 });
    renameSync(temporary, join(dir, key));
  } catch {
    // A read-only or full home: run without the cache.
  }
}
