import { spawnSync } from "node:child_process";
import { join } from "node:path";
import type { OptionSpec } from "../bin/cli/command-line.js";
import { ensurePythonEnv } from "../tools/python-env.js";

/**
 * Runs one step of a training command with the terminal attached; a step that fails ends the command with its
 * exit code, so the later steps never run on a half-made result.
 */
export function runStep(command: string, args: readonly string[], extraEnv: NodeJS.ProcessEnv = {}): void {
  const result = spawnSync(command, args, { stdio: "inherit", env: { ...process.env, ...extraEnv } });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

/** The options of a command that changes the served model without retraining (npm run fit-gate, npm run add-cam). */
export const MODEL_STEP_OPTIONS = {
  data: { type: "string", value: "DIR", default: "../shared/data/chest_xray", doc: "a folder with train/ and dev/, each holding NORMAL/ and PNEUMONIA/" },
  "model-dir": { type: "string", value: "DIR", default: "models/pneumonia-cnn", doc: "the model to change" },
  tensors: { type: "string", value: "DIR", default: "training/.cache/tensors", doc: "where the exported tensors go" },
} as const satisfies Record<string, OptionSpec>;

/** The project's Python with the training requirements; when it cannot be had, the command ends saying what to install. */
export function projectPython(): string {
  const env = ensurePythonEnv("train");
  if ("problem" in env.python) {
    console.error(env.python.problem);
    process.exit(1);
  }
  return env.python.path;
}

/** Exports the train and dev tensors of `data` with the preprocessing of the model in `model-dir`. */
export function exportServedTensors(values: { data: string; tensors: string; "model-dir": string }): void {
  runStep(process.execPath, ["--import", "tsx", join(import.meta.dirname, "export-tensors.ts"), "--data", values.data, "--out", values.tensors, "--spec-from", values["model-dir"]]);
}
