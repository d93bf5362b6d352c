/**
 * V8's code cache for the CLI's bundles: the first run of a bundle saves the
 * code V8 compiled for it, later runs load that instead of compiling the
 * bundle's text again (about a fifth of a short command's start-up).
 *
 * Node 22.1+ has this built in (`module.enableCompileCache`); Node 20 does
 * not, so this does what it does with `vm.Script`'s cached data. The cache
 * lives with the user's other caches (`$XDG_CACHE_HOME/qcow2-forensic`, else
 * `~/.cache/qcow2-forensic`), never near the evidence; it is only read when
 * its owner is the user running the tool (it holds code), and it is skipped,
 * silently, wherever it cannot be written. `QCOW2_FORENSIC_NO_CODE_CACHE=1`
 * turns it off.
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
import * as nodeModule from "node:module";
import { basename, dirname, join } from "node:path";
import { Script, constants as vmConstants } from "node:vm";

/** Where the cache lives for `env`, or null when it is turned off or there is no home to keep it in. */
export function codeCacheDir(env: NodeJS.ProcessEnv = process.env): string | null {
  if (env.QCOW2_FORENSIC_NO_CODE_CACHE) return null;
  const base = env.XDG_CACHE_HOME || (env.HOME ? join(env.HOME, ".cache") : "");
  return base ? join(base, "qcow2-forensic", "code-cache") : null;
}

/**
 * Runs the CommonJS file `file` as `require(file)` would, with its compiled
 * code cached. Returns false when it did not run it (no cache directory, the
 * file unreadable, or Node's own compile cache enabled instead), and the
 * caller then `require`s it as usual.
 */
export function runWithCodeCache(file: string, requireFrom: NodeJS.Require): boolean {
  const dir = codeCacheDir();
  if (dir === null) return false;
  const builtIn = (nodeModule as { enableCompileCache?: (dir: string) => unknown })
    .enableCompileCache;
  if (typeof builtIn === "function") {
    try {
      builtIn(dir);
    } catch {}
    return false;
  }
  const name = basename(file);
  let source: string;
  let key: string;
  try {
    const st = statSync(file);
    // V8 checks the cache against the text's length, its own version and flags; a
    // rebuild changes the file's size or time, and another Node another key.
    key = `${name}-${st.size}-${Math.trunc(st.mtimeMs)}-${process.version}-${process.arch}.v8`;
    // The bundles are ASCII (scripts/build.mjs): one byte per character.
    source = readFileSync(file, "latin1");
  } catch {
    return false;
  }
  const cached = readOwnCache(join(dir, key));
  const script = new Script(
    `(function (exports, require, module, __filename, __dirname) {${source}\n})`,
    {
      filename: file,
      ...(cached ? { cachedData: cached } : {}),
      importModuleDynamically: vmConstants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
    },
  );
  if (cached === undefined || script.cachedDataRejected) {
    // After the run: the cache then holds every function the run compiled, not only the top level.
    process.once("exit", () => saveCache(dir, name, key, script.createCachedData()));
  }
  const body = script.runInThisContext() as (...args: unknown[]) => void;
  const module = { exports: {}, filename: file, id: file, loaded: false };
  body.call(module.exports, module.exports, requireFrom, module, file, dirname(file));
  module.loaded = true;
  return true;
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
