/**
 * `npm run train`: the whole retraining, in the project's own Python environment.
 *
 *   npm run train [-- --data ../shared/data/chest_xray] [--seeds "20261125 20261126"]
 *
 * 1. fills `.venv` with training/requirements.txt (tools/python-env.ts; reused while the requirements hold);
 * 2. exports the train and dev tensors from --data with the serving preprocessing (export-tensors.ts);
 * 3. trains one ensemble member per seed side by side and exports the served model to models/pneumonia-cnn
 *    (train-ensemble.sh, with `.venv/bin` first on its PATH so its `python3` is the environment's).
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { ensurePythonEnv } from "../tools/python-env.js";

const { values } = parseArgs({
  options: {
    data: { type: "string", default: "../shared/data/chest_xray" },
    seeds: { type: "string", default: "20261125 20261126" },
    tensors: { type: "string", default: "training/.cache/tensors" },
  },
});

for (const split of ["train", "dev"]) {
  if (!existsSync(join(values.data!, split))) {
    console.error(`--data ${values.data} has no ${split}/ folder: give a folder laid out as <data>/{train,dev}/{NORMAL,PNEUMONIA}/*.jpeg`);
    process.exit(2);
  }
}

const env = ensurePythonEnv("train");
if ("problem" in env.python) {
  console.error(env.python.problem);
  process.exit(1);
}

/** Runs one step with the terminal attached; a failed step ends the run with its exit code. */
function step(command: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}): void {
  const result = spawnSync(command, args, { stdio: "inherit", env: { ...process.env, ...extraEnv } });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

step(process.execPath, ["--import", "tsx", join(import.meta.dirname, "export-tensors.ts"), "--data", values.data!, "--out", values.tensors!]);
step("bash", [join(import.meta.dirname, "train-ensemble.sh")], {
  PATH: `${dirname(env.python.path)}:${process.env.PATH ?? ""}`,
  SEEDS: values.seeds!,
  TENSORS: values.tensors!,
});
