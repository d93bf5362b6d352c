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
  // One bundled file per entry: resolving a dozen packages at start-up costs
  // more than a short command's work (process start is in every benchmark).
  noExternal: [/^@x\//, "commander", "fflate", "fzstd"],
  splitting: false,
  banner: {
    js: "#!/usr/bin/env node\nimport { createRequire as __qcow2CreateRequire } from 'node:module'; const require = __qcow2CreateRequire(import.meta.url);",
  },
});
