/**
 * `npm run add-cam`: adds the class activation map output to the model already in models/pneumonia-cnn,
 * without retraining (a full `npm run train` adds it as part of the export). Exports the train and dev tensors
 * with the served model's own preprocessing, then runs training/cam.py, which adds the output (checking that
 * no dev probability or feature changes), fits the map's fixed 8-bit scale on the training part's PNEUMONIA
 * images, and rewrites the manifest and model card.
 *
 *   npm run add-cam [-- --data ../shared/data/chest_xray] [--version 1.3.0]
 */
import { join } from "node:path";
import { parseCommandLine } from "../bin/cli/command-line.js";
import { exportServedTensors, MODEL_STEP_OPTIONS, projectPython, runStep } from "./run-step.js";

const { values } = parseCommandLine({
  command: "npm run add-cam --",
  summary: "Adds the class activation map output to the served model without retraining: exports the tensors, adds the output, fits its scale and rewrites the manifest and model card.",
  options: { ...MODEL_STEP_OPTIONS, version: { type: "string", value: "VERSION", doc: "the version the changed model gets (it keeps its own without)" } },
});

const python = projectPython();
exportServedTensors(values);
runStep(python, [join(import.meta.dirname, "cam.py"), "--tensors", values.tensors, "--model-dir", values["model-dir"], ...(values.version ? ["--version", values.version] : [])]);
