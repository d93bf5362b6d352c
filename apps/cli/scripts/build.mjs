// Builds the CLI into dist/: one self-contained CommonJS bundle per command.
//
// Why not one bundle split into shared chunks (as before): a run of `info`
// then loaded ES modules (Node's ESM loader is itself tens of milliseconds to
// start) and shared chunks full of other commands' code. Start-up is in every
// run's wall time, and most runs are short. Each bundle here holds one
// command, tree-shaken to what that command reaches; the price is size on disk
// (common code is repeated in every bundle), paid once at install.
//
//   cli.js            the executable: picks the bundle for argv (src/launcher.ts)
//   cli-<name>.js     one command (`info`, `audit`, …), src/cli.ts with a table of one
//   cli-all.js        every command: help, completion, unknown names
//   cli-bare.js       no command: a bare --version
//   audit-worker.js   the batch auditor's worker thread
//   hash-worker.js    the thread that digests while hash reads on
//   zstd-worker.js    the core's zstd decoder thread
//   vendor-*.js       libraries for rare paths, required on first use
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const src = join(root, "src");
const dist = join(root, "dist");
const require = createRequire(import.meta.url);
// The vendored libraries are the core's dependencies, resolved from it.
const fromCore = createRequire(require.resolve("@x/qcow2-core/package.json"));

// A command's name is its file (src/commands/<name>.ts exports register<Name>);
// test/command-table.test.ts holds src/command-names.ts to the same list.
const names = readdirSync(join(src, "commands"))
  .filter((f) => f.endsWith(".ts"))
  .map((f) => f.slice(0, -3));

/** Replaces src/command-table.ts, in one bundle, by a table of the given commands only. */
const commandTableOf = (commands) => ({
  name: "command-table",
  setup(b) {
    b.onResolve({ filter: /^\.\/command-table\.js$/ }, (a) => ({
      path: join(a.resolveDir, "command-table.ts"),
      namespace: "command-table",
    }));
    b.onLoad({ filter: /.*/, namespace: "command-table" }, () => ({
      resolveDir: src,
      loader: "ts",
      contents: `export const COMMANDS = {${commands
        .map(
          (n) =>
            `${JSON.stringify(n)}: async () => (await import("./commands/${n}.js")).register${n[0].toUpperCase()}${n.slice(1)},`,
        )
        .join("")}};`,
    }));
  },
});

// commander loads node:child_process (and with it net, dgram and streams) as it
// is loaded, only to spawn executable subcommands, which this CLI has none of.
const lazyChildProcess = {
  name: "commander-lazy-child-process",
  setup(b) {
    b.onLoad({ filter: /commander[\\/]lib[\\/]command\.js$/ }, (a) => {
      const eager = "const childProcess = require('node:child_process');";
      const text = readFileSync(a.path, "utf8");
      if (!text.includes(eager)) throw new Error(`${a.path}: commander changed; update ${eager}`);
      const lazy =
        "let loadedChildProcess; const childProcess = { spawn: (...args) => (loadedChildProcess ??= require('node:child_process')).spawn(...args) };";
      return { contents: text.replace(eager, lazy), loader: "js" };
    });
  },
};

// Libraries some runs of a command do without are files of their own, required
// when first used: every byte of a command bundle is read and decoded at every
// start, used or not (about 1 ms per 100 KB here). The zstd WebAssembly
// decoder and fflate (a deflate stream longer than its cluster) serve rare
// paths; the guest volume reader is not needed by `info --json` (nor by most
// commands until they read the guest).
const VENDORED = {
  zstddec: { out: "vendor-zstddec", from: "core" },
  "fflate/browser": { out: "vendor-fflate", from: "core" },
  "@x/volumes": { out: "vendor-volumes", from: "cli" },
};
const vendored = {
  name: "vendored",
  setup(b) {
    const names = Object.keys(VENDORED).map((n) => n.replaceAll("/", "\\/"));
    b.onResolve({ filter: new RegExp(`^(${names.join("|")})$`) }, (a) => ({
      path: a.path,
      namespace: "vendored",
    }));
    // A CommonJS stand-in that requires the file at run time: the import() of it
    // becomes a lazy require in the bundle, never a dynamic import.
    b.onLoad({ filter: /.*/, namespace: "vendored" }, (a) => ({
      contents: `module.exports = require("./${VENDORED[a.path].out}.js");`,
      loader: "js",
    }));
    b.onResolve({ filter: /^\.\/vendor-[a-z]+\.js$/ }, (a) => ({ path: a.path, external: true }));
  },
};

const common = {
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node20",
  // Less text to compile at every start; names stay, so --debug traces still read.
  minifyWhitespace: true,
  minifySyntax: true,
  // ASCII only (other characters escaped): Node reads an ASCII file into a
  // one-byte string, cheaper to load and to scan than a two-byte one.
  charset: "ascii",
  logLevel: "warning",
  // Workers are found next to the bundle that starts them (`new URL("./x.js", import.meta.url)`).
  define: { "import.meta.url": "__bundleUrl" },
  // "use strict" first, where it is a directive: the sources are ES modules, strict throughout.
  banner: {
    js: '"use strict";var __bundleUrl=require("node:url").pathToFileURL(__filename).href;',
  },
  plugins: [lazyChildProcess],
};

// A command bundle's text is a CommonJS module body already wrapped as Node
// wraps one, `(function (exports, require, module, __filename, __dirname) {…})`:
// the launcher compiles the file's text as it is (src/launch/code-cache.ts),
// without building a second copy of half a megabyte with the wrapper around it.
const MODULE_WRAPPER = {
  banner: `(function (exports, require, module, __filename, __dirname) {${common.banner.js}`,
  footer: "})",
};

const bundles = [
  { out: "cli", entry: join(src, "launcher.ts"), banner: { js: "#!/usr/bin/env node" } },
  { out: "cli-all", entry: join(src, "cli.ts"), wrapped: true },
  { out: "cli-bare", entry: join(src, "cli.ts"), commands: [], wrapped: true },
  ...names.map((n) => ({
    out: `cli-${n}`,
    entry: join(src, "cli.ts"),
    commands: [n],
    wrapped: true,
  })),
  ...Object.entries(VENDORED).map(([module, { out, from }]) => ({
    out,
    entry: (from === "core" ? fromCore : require).resolve(module),
    // No import.meta.url in these: no file URL to work out at load.
    banner: { js: '"use strict";' },
  })),
  { out: "audit-worker", entry: join(src, "batch", "worker.ts") },
  { out: "hash-worker", entry: join(src, "hash-thread", "worker.ts") },
  { out: "zstd-worker", entry: require.resolve("@x/qcow2-core/zstd-worker") },
];

rmSync(dist, { recursive: true, force: true });
const results = await Promise.all(
  bundles.map(({ out, entry, commands, wrapped, banner }) =>
    build({
      ...common,
      entryPoints: [entry],
      outfile: join(dist, `${out}.js`),
      plugins: [
        ...common.plugins,
        ...(wrapped ? [vendored] : []),
        ...(commands ? [commandTableOf(commands)] : []),
      ],
      metafile: true,
      ...(wrapped
        ? { banner: { js: MODULE_WRAPPER.banner }, footer: { js: MODULE_WRAPPER.footer } }
        : {}),
      ...(banner ? { banner } : {}),
    }),
  ),
);
// A bundle is CommonJS run through vm.Script: an import() left in it would need
// a dynamic-import callback (an experimental Node API). Built-ins are require()d.
for (const { metafile } of results)
  for (const [file, output] of Object.entries(metafile.outputs))
    for (const i of output.imports)
      if (i.kind === "dynamic-import" && i.external)
        throw new Error(`${file}: import("${i.path}") stays a dynamic import; require it instead`);
// The package is "type": "module"; these bundles are CommonJS (no ESM loader to start).
writeFileSync(join(dist, "package.json"), `${JSON.stringify({ type: "commonjs" }, null, 2)}\n`);
