import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { preprocessImage } from "../../lambda/core/model/preprocess.js";
import { OnnxModel } from "../../lambda/core/model/onnx-model.js";
import { defaultModelDir } from "../../lambda/core/model/manifest.js";
import { FIXTURES } from "../../tools/support/forms.js";
import { venvPython } from "../support/python-tools.js";

const run = promisify(execFile);
const SAMPLE_ROOT = join(FIXTURES, "chest_xray");
let out: string;
let exported: { items: { file: string; label: string }[]; shape: number[] };

beforeAll(async () => {
  out = await mkdtemp(join(tmpdir(), "parity-"));
  await run(process.execPath, ["--import", "tsx", "training/export-tensors.ts", "--data", SAMPLE_ROOT, "--splits", "sample", "--out", out, "--spec-from", defaultModelDir()]);
  exported = JSON.parse(await readFile(join(out, "sample.json"), "utf8"));
});

afterAll(async () => {
  await rm(out, { recursive: true, force: true });
});

describe("training and serving parity", () => {
  it("exports exactly the tensors the served preprocessing computes", async () => {
    // Prepare
    const model = await OnnxModel.load(defaultModelDir());
    const spec = model.manifest.input.preprocessing;
    const raw = await readFile(join(out, "sample.f32"));
    const all = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
    // Act & Assess
    expect(exported.shape).toEqual([exported.items.length, 1, spec.height, spec.width]);
    for (const [index, item] of exported.items.entries()) {
      const { tensor } = await preprocessImage(await readFile(join(SAMPLE_ROOT, "sample", item.file)), spec);
      expect(all.subarray(index * tensor.length, (index + 1) * tensor.length)).toEqual(tensor);
    }
  });

  it("gives the same probabilities in Python, reading the exported tensors, as the served model", async () => {
    // Prepare
    const model = await OnnxModel.load(defaultModelDir());
    // Act
    const { stdout } = await run(venvPython(), ["training/predict_tensors.py", "--tensors", out, "--split", "sample", "--model-dir", defaultModelDir()]);
    const fromPython: { file: string; probabilities: Record<string, number> }[] = JSON.parse(stdout);
    // Assess
    expect(fromPython.map((p) => p.file)).toEqual(exported.items.map((i) => i.file));
    for (const { file, probabilities } of fromPython) {
      const { tensor } = await preprocessImage(await readFile(join(SAMPLE_ROOT, "sample", file)), model.manifest.input.preprocessing);
      const served = await model.classify(tensor);
      expect(served.probabilities.PNEUMONIA).toBeCloseTo(probabilities.PNEUMONIA!, 5);
      expect(served.probabilities.NORMAL).toBeCloseTo(probabilities.NORMAL!, 5);
    }
  });
});
