import { describe, expect, it } from "vitest";
import { runCommand } from "../support/run-command.js";

describe("npm run soak", () => {
  it("starts npm start itself, soaks it for 3 s, stops it and passes", async () => {
    // Act: the README's short form, with no --url
    const { code, stdout, stderr } = await runCommand("npm", ["run", "--silent", "soak", "--", "--seconds", "3"]);
    // Assess: on a failure, the soak's own report says which check failed
    expect(code, `the soak's report:\n${stdout}\n${stderr}`).toBe(0);
    expect(stdout).toMatch(/valid: (\d+) sent, \1 answered correctly/);
    expect(stdout).toMatch(/hostile: (\d+) sent, \1 got the expected status and code/);
    expect(stdout).toContain("server after the run: /health 200, process alive, error-level log lines 0");
    expect(stdout).toMatch(/result: PASS$/m);
  });
});
