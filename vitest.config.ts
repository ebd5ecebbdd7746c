import { configDefaults, defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The browser suite has its own config and script (npm run test:browser), and needs Chromium.
    exclude: [...configDefaults.exclude, "test/browser/**"],
    // Fills .venv (Python for the parity test, cfn-lint for the template lint) once, before any test file runs.
    globalSetup: ["test/support/python-env-setup.ts"],
    // Real model, real images, real processes: generous per-test limits on a 2-core machine.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    env: { POWERTOOLS_LOG_LEVEL: "SILENT" },
    pool: "forks",
  },
});
