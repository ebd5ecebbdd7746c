import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SERVER_ENTRIES, startServer, type LocalApiProcess } from "../../tools/support/server-process.js";
import { runEntry } from "../support/run-command.js";

describe("npm run evaluate:gate", () => {
  let api: LocalApiProcess;
  beforeAll(async () => {
    api = await startServer(SERVER_ENTRIES.local);
  });
  afterAll(async () => {
    await api?.stop();
  });

  it("counts per set the images refused with NOT_A_CHEST_XRAY over HTTP, and each file's answer with --files", async () => {
    // Act: sets given as operands, so the defaults (thousands of images) are not posted
    const { code, stdout } = await runEntry("tools/evaluate-gate.ts", ["--url", api.url, "--files", "xrays=test/fixtures/xrays", "logos=test/fixtures/ood/logos"]);
    // Assess
    expect(code).toBe(0);
    expect(stdout).toContain("| xrays | `test/fixtures/xrays` | 10 | 0 | 0.0 % | none | - |");
    expect(stdout).toContain("| logos | `test/fixtures/ood/logos` | 4 | 4 | 100.0 % | none | - |");
    expect(stdout).toMatch(/^test\/fixtures\/ood\/logos\/scikit-image-logo\.png\t422 NOT_A_CHEST_XRAY score \d+\.\d\d$/m);
    expect(stdout).toMatch(/^test\/fixtures\/xrays\/NORMAL\/IM-0199-0001\.jpeg\t200 NORMAL$/m);
  });

  it("refuses an operand that is not NAME=PATH with a usage error", async () => {
    // Act
    const { code, stderr } = await runEntry("tools/evaluate-gate.ts", ["--url", api.url, "test/fixtures/xrays"]);
    // Assess
    expect(code).toBe(2);
    expect(stderr).toContain("test/fixtures/xrays: give each set as NAME=PATH");
  });
});
