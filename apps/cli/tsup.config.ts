import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { defineConfig } from "tsup";

const require = createRequire(import.meta.url);

/**
 * The workspace packages from their TypeScript sources, not their built
 * bundles: esbuild then sees one module per file and leaves out what a
 * command does not use (from a prebuilt single-file bundle it keeps nearly
 * everything). The types are the same: `tsc` checks the sources anyway.
 */
const fromSource = (pkg: string, entry = "index") =>
  fileURLToPath(new URL(`../../packages/${pkg}/src/${entry}.ts`, import.meta.url));
const WORKSPACE_SOURCES = {
  "@x/qcow2-core/node": fromSource("qcow2-core", "node"),
  "@x/qcow2-core": fromSource("qcow2-core"),
  "@x/qcow2-forensic/node": fromSource("qcow2-forensic", "node"),
  "@x/qcow2-forensic": fromSource("qcow2-forensic"),
  "@x/report": fromSource("report"),
};

export default defineConfig({
  // Workers are their own files so `new Worker(new URL("./<name>.js", import.meta.url))` finds
  // them next to cli.js: the batch auditor's, and the core's zstd decoder's.
  entry: {
    cli: "src/cli.ts",
    "audit-worker": "src/batch/worker.ts",
    "zstd-worker": require.resolve("@x/qcow2-core/zstd-worker"),
  },
  format: ["esm"],
  dts: false,
  clean: true,
  sourcemap: true,
  target: "node20",
  // Bundled: resolving a dozen packages at start-up costs more than a short
  // command's work (process start is in every benchmark). Split at the
  // dynamic imports of src/command-table.ts: a run compiles only the chunks
  // of its command, not the whole program.
  noExternal: [/^@x\//, "commander", "fflate", "fzstd"],
  splitting: true,
  esbuildOptions(options) {
    options.alias = { ...options.alias, ...WORKSPACE_SOURCES };
    // Less text to parse at every start; names stay, so --debug traces still read.
    options.minifyWhitespace = !process.env.NO_MINIFY;
    options.minifySyntax = !process.env.NO_MINIFY;
  },
  banner: {
    js: "#!/usr/bin/env node\nimport { createRequire as __qcow2CreateRequire } from 'node:module'; const require = __qcow2CreateRequire(import.meta.url);",
  },
});
