import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    // Lessons and kernels take seconds to start; nothing here is a speed assertion.
    testTimeout: 300_000,
    hookTimeout: 120_000,
  },
});
