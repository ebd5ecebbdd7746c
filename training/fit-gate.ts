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
import { join } from "node:path";
import { parseCommandLine } from "../bin/cli/command-line.js";
import { ensurePythonEnv } from "../tools/python-env.js";
import { runStep } from "./run-step.js";

const { values } = parseCommandLine({
  command: "npm run fit-gate --",
  summary: "Adds the out-of-distribution gate to the served model without retraining: exports the tensors, adds the features output, fits the gate and rewrites the manifest and model card.",
  options: {
    data: { type: "string", value: "DIR", default: "../shared/data/chest_xray", doc: "a folder with train/ and dev/, each holding NORMAL/ and PNEUMONIA/" },
    "model-dir": { type: "string", value: "DIR", default: "models/pneumonia-cnn", doc: "the model to add the gate to" },
    tensors: { type: "string", value: "DIR", default: "training/.cache/tensors", doc: "where the exported tensors go" },
    version: { type: "string", value: "VERSION", default: "1.2.0", doc: "the version the model gets" },
  },
});

const env = ensurePythonEnv("train");
if ("problem" in env.python) {
  console.error(env.python.problem);
  process.exit(1);
}

const modelDir = values["model-dir"];
runStep(process.execPath, ["--import", "tsx", join(import.meta.dirname, "export-tensors.ts"), "--data", values.data, "--out", values.tensors, "--spec-from", modelDir]);
runStep(env.python.path, [join(import.meta.dirname, "gate.py"), "--tensors", values.tensors, "--model-dir", modelDir, "--version", values.version]);
