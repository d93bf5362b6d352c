import { defineConfig } from "tsup";

export default defineConfig({
  // The worker is its own file so `new Worker(new URL("./audit-worker.js", import.meta.url))` finds it.
  entry: { cli: "src/cli.ts", "audit-worker": "src/batch/worker.ts" },
  format: ["esm"],
  dts: false,
  clean: true,
  sourcemap: true,
  target: "node20",
  banner: { js: "#!/usr/bin/env node" },
});
