import { createRequire } from "node:module";
import { defineConfig } from "tsup";

const require = createRequire(import.meta.url);

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
    // Less text to parse at every start; names stay, so --debug traces still read.
    options.minifyWhitespace = true;
    options.minifySyntax = true;
  },
  banner: {
    js: "#!/usr/bin/env node\nimport { createRequire as __qcow2CreateRequire } from 'node:module'; const require = __qcow2CreateRequire(import.meta.url);",
  },
});
