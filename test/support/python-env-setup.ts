import type { TestProject } from "vitest/node";
import { ensurePythonEnv, type PythonEnv } from "../../tools/python-env.js";

declare module "vitest" {
  export interface ProvidedContext {
    pythonEnv: PythonEnv;
  }
}

/**
 * Global setup: fills the project's `.venv` once before any test file runs (the parity test and the template
 * lint need it), and hands the tests where Python and cfn-lint are, or what to install.
 */
export default function setup(project: TestProject): void {
  project.provide("pythonEnv", ensurePythonEnv("test"));
}
