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
import { exportServedTensors, MODEL_STEP_OPTIONS, projectPython, runStep } from "./run-step.js";

const { values } = parseCommandLine({
  command: "npm run fit-gate --",
  summary: "Adds the out-of-distribution gate to the served model without retraining: exports the tensors, adds the features output, fits the gate and rewrites the manifest and model card.",
  options: { ...MODEL_STEP_OPTIONS, version: { type: "string", value: "VERSION", doc: "the version the changed model gets (it keeps its own without)" } },
});

const python = projectPython();
exportServedTensors(values);
runStep(python, [join(import.meta.dirname, "gate.py"), "--tensors", values.tensors, "--model-dir", values["model-dir"], ...(values.version ? ["--version", values.version] : [])]);
