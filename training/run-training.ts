/**
 * `npm run train`: the whole retraining, in the project's own Python environment.
 *
 *   npm run train [-- --data ../shared/data/chest_xray] [--seeds "20261125 20261126"] [--size 192] [--widths 8,16,32,64,128]
 *
 * 1. fills `.venv` with training/requirements.txt (tools/python-env.ts; reused while the requirements hold);
 * 2. exports the train and dev tensors from --data with the serving preprocessing (export-tensors.ts);
 * 3. trains one ensemble member per seed side by side and exports the served model to models/pneumonia-cnn
 *    (train-ensemble.sh, with `.venv/bin` first on its PATH so its `python3` is the environment's).
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseCommandLine } from "../bin/cli/command-line.js";
import { projectPython, runStep } from "./run-step.js";

const { values } = parseCommandLine({
  command: "npm run train --",
  summary: "Retrains the served model in the project's .venv: exports the tensors, trains one member per seed, exports the ensemble and its gate to models/pneumonia-cnn.",
  options: {
    data: { type: "string", value: "DIR", default: "../shared/data/chest_xray", doc: "a folder with train/ and dev/, each holding NORMAL/ and PNEUMONIA/" },
    seeds: { type: "string", value: "\"SEED ...\"", default: "20261125", doc: "one ensemble member per seed (each adds about 3.1 ms of inference at 192 px)" },
    size: { type: "string", value: "PX", default: "192", doc: "side of the square model input, in pixels" },
    widths: { type: "string", value: "W,W,...", doc: "channels of each member's convolution stages (train.py's default: 16,32,64,128,256)" },
    tensors: { type: "string", value: "DIR", default: "training/.cache/tensors", doc: "where the exported tensors go" },
  },
});

for (const split of ["train", "dev"]) {
  if (!existsSync(join(values.data, split))) {
    console.error(`--data ${values.data} has no ${split}/ folder: give a folder laid out as <data>/{train,dev}/{NORMAL,PNEUMONIA}/*.jpeg`);
    process.exit(2);
  }
}

const python = projectPython();

runStep(process.execPath, ["--import", "tsx", join(import.meta.dirname, "export-tensors.ts"), "--data", values.data, "--out", values.tensors, "--size", values.size]);
runStep("bash", [join(import.meta.dirname, "train-ensemble.sh")], {
  PATH: `${dirname(python)}:${process.env.PATH ?? ""}`,
  SEEDS: values.seeds,
  WIDTHS: values.widths ?? "",
  TENSORS: values.tensors,
});
