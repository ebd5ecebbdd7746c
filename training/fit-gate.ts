/**
 * `npm run fit-gate`: adds the out-of-distribution gate to the model already in models/pneumonia-cnn, without
 * retraining (a full `npm run train` fits it as part of the export). Exports the train and dev tensors with
 * the served model's own preprocessing, then runs training/gate.py, which adds the pooled-features output
 * (checking that no dev probability changes), fits the gate on the training part of the patient-level split
 * the model was trained with, chooses the threshold on its validation part, and rewrites the manifest and
 * model card.
 *
 *   npm run fit-gate [-- --data ../shared/data/chest_xray] [--version 1.2.0]
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ensurePythonEnv } from "../tools/python-env.js";

const { values } = parseArgs({
  options: {
    data: { type: "string", default: "../shared/data/chest_xray" },
    "model-dir": { type: "string", default: "models/pneumonia-cnn" },
    tensors: { type: "string", default: "training/.cache/tensors" },
    version: { type: "string", default: "1.2.0" },
  },
});

const env = ensurePythonEnv("train");
if ("problem" in env.python) {
  console.error(env.python.problem);
  process.exit(1);
}

/** Runs one step with the terminal attached; a failed step ends the run with its exit code. */
function step(command: string, args: string[]): void {
  const result = spawnSync(command, args, { stdio: "inherit" });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

const modelDir = values["model-dir"]!;
step(process.execPath, ["--import", "tsx", join(import.meta.dirname, "export-tensors.ts"), "--data", values.data!, "--out", values.tensors!, "--spec-from", modelDir]);
step(env.python.path, [join(import.meta.dirname, "gate.py"), "--tensors", values.tensors!, "--model-dir", modelDir, "--version", values.version!]);
