import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 120_000,
    // Building guest disks with the mkfs tools takes a while on a busy machine.
    hookTimeout: 300_000,
  },
});
