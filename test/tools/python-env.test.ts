import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const ENTRY = "tools/python-env.ts";
const emptyDirs: string[] = [];

afterAll(() => {
  for (const dir of emptyDirs) rmSync(dir, { recursive: true, force: true });
});

/** Runs the environment set-up as `npm test`'s global setup does, with the given PATH. */
function runSetup(path: string) {
  const result = spawnSync(process.execPath, ["--import", "tsx", ENTRY, "--profile", "test"], {
    encoding: "utf8",
    env: { ...process.env, PATH: path },
  });
  return { status: result.status, stderr: result.stderr, env: JSON.parse(result.stdout) };
}

describe("python-env", () => {
  it("says in one line what to install when the PATH has neither python3 nor cfn-lint", () => {
    // Prepare: a PATH holding node alone
    const bare = mkdtempSync(join(tmpdir(), "no-python-"));
    emptyDirs.push(bare);
    symlinkSync(process.execPath, join(bare, "node"));
    // Act
    const { status, env } = runSetup(bare);
    // Assess
    expect(status).toBe(1);
    expect(env.python.problem).toMatch(/^python3 was not found on the PATH: install Python 3\.10 or newer/);
    expect(env.cfnLint.problem).toMatch(/^cfn-lint was not found: .*install it \(pipx install cfn-lint/);
    expect(env.python.problem).not.toContain("\n");
  });

  it("reuses .venv without installing anything when the requirements are unchanged", () => {
    // Prepare: the global setup has already filled .venv for this run
    // Act
    const { status, stderr, env } = runSetup(process.env.PATH ?? "");
    // Assess
    expect(status).toBe(0);
    expect(stderr).not.toContain("Setting up .venv");
    expect(env.python.path).toMatch(/\.venv\/bin\/python$/);
  });
});
