import { inject } from "vitest";

/**
 * The commands the global setup found. When one is missing, the test that needs it fails with the setup's one
 * line saying what to install: never a skip.
 */
function located(tool: "python" | "cfnLint"): string {
  const found = inject("pythonEnv")[tool];
  if ("problem" in found) throw new Error(found.problem);
  return found.path;
}

/** The `.venv` interpreter with training/requirements-test.txt installed. */
export const venvPython = (): string => located("python");

/** A cfn-lint command: the `.venv` one, else the one on the PATH. */
export const cfnLint = (): string => located("cfnLint");
