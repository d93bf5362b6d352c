import { defineConfig } from "tsup";

export default defineConfig({
  // The worker is its own file so `new Worker(new URL("./audit-worker.js", import.meta.url))` finds it.
  entry: { cli: "src/cli.ts", "audit-worker": "src/batch/worker.ts" },
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
