import { defineConfig } from "vitest/config";

/**
 * npm run test:browser: the web page and Swagger UI driven in the system's Chromium (playwright-core, no browser
 * download) against `npm start` and `npm run start:gpu`. Kept out of `npm test`, which has no browser to need.
 */
export default defineConfig({
  test: {
    include: ["test/browser/**/*.test.ts"],
    // Fails the whole run in one line when Chromium is missing, before any server starts.
    globalSetup: ["test/browser/support/require-chromium.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    env: { POWERTOOLS_LOG_LEVEL: "SILENT" },
    pool: "forks",
    // Each file starts its own server and browser; one at a time leaves this 2-core machine room for them.
    fileParallelism: false,
  },
});
