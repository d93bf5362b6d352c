import { defineConfig } from "vitest/config";

// Open-ended guest-table fuzzing (`pnpm fuzz`); the fixed-seed CI run is test/fuzz-guest.test.ts.
export default defineConfig({
  test: {
    include: ["test/fuzz/**/*.fuzz.ts"],
    testTimeout: 24 * 3600 * 1000,
  },
});
