import { defineConfig } from "tsup";

export default defineConfig({
  // The zstd worker is its own file: `new Worker(new URL("./zstd-worker.js", import.meta.url))`.
  entry: { index: "src/index.ts", node: "src/node.ts", "zstd-worker": "src/reader/zstd-worker.ts" },
  format: ["esm", "cjs"],
  dts: true,
  clean: true,
  sourcemap: true,
  target: "node20",
  // import.meta.url in the CommonJS build, for the worker's path.
  shims: true,
});
