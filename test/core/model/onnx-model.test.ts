import { createHash } from "node:crypto";
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OnnxModel } from "../../../lambda/core/model/onnx-model.js";
import { defaultModelDir, type ModelManifest } from "../../../lambda/core/model/manifest.js";
import { ModelLoadError, type ModelLoadFailure } from "../../../lambda/core/model/model-load-error.js";

let scratch: string;
let manifest: ModelManifest;

/** A model folder with the served manifest as `edit` writes it, and the model file unless `modelFile` says otherwise. */
async function modelFolder(name: string, edit: (manifest: ModelManifest) => object | string, modelFile?: Buffer): Promise<string> {
  const dir = join(scratch, name);
  const written = edit(structuredClone(manifest));
  await mkdir(dir);
  await writeFile(join(dir, "manifest.json"), typeof written === "string" ? written : JSON.stringify(written));
  if (modelFile) await writeFile(join(dir, manifest.file), modelFile);
  else await copyFile(join(defaultModelDir(), manifest.file), join(dir, manifest.file));
  return dir;
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "pneumonia-onnx-model-"));
  manifest = JSON.parse(await readFile(join(defaultModelDir(), "manifest.json"), "utf8"));
});

afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe("OnnxModel.load", () => {
  it("loads the served model and classifies with it", async () => {
    // Act
    const model = await OnnxModel.load(defaultModelDir(), { threads: 1 });
    // Assess
    expect(model.manifest.name).toBe("pneumonia-cnn");
    await expect(model.classify(new Float32Array(model.inputSize))).resolves.toHaveProperty("prediction");
  });

  it.each<[string, ModelLoadFailure, () => Promise<string>]>([
    ["a folder that does not exist", "manifestMissing", async () => join(scratch, "nowhere")],
    ["a manifest that is not JSON", "manifestInvalid", () => modelFolder("not-json", () => "{ not json")],
    ["a manifest without a threshold", "manifestInvalid", () => modelFolder("no-threshold", (m) => ({ ...m, threshold: undefined }))],
    ["a manifest naming a file that is not there", "modelFileMissing", () => modelFolder("no-file", (m) => ({ ...m, file: "elsewhere.onnx" }))],
    ["a model file whose sha256 is not the manifest's", "checksumMismatch", () => modelFolder("tampered", (m) => ({ ...m, sha256: "0".repeat(64) }))],
    ["a file that is not an ONNX model, with its sha256 in the manifest", "sessionFailed", () => {
      const garbage = Buffer.from("not an onnx model");
      return modelFolder("garbage", (m) => ({ ...m, sha256: createHash("sha256").update(garbage).digest("hex") }), garbage);
    }],
    ["a manifest whose gate file is not there", "modelFileMissing", () => modelFolder("no-gate-file", (m) => m)],
    ["a gate that reads an output the model does not have", "manifestInvalid", () => modelFolder("no-features", (m) => ({ ...m, gate: { ...m.gate!, featuresOutput: "pooled" } }))],
    ["an explanation that reads an output the model does not have", "manifestInvalid", () => modelFolder("no-cam", (m) => ({ ...m, explanation: { ...m.explanation!, output: "heat" } }))],
    ["an explanation whose white point is not above its black point", "manifestInvalid", () => modelFolder("flat-scale", (m) => ({ ...m, explanation: { ...m.explanation!, scale: { black: 1, white: 1 } } }))],
    ["a gate file whose sha256 is not the manifest's", "checksumMismatch", async () => {
      const dir = await modelFolder("tampered-gate", (m) => ({ ...m, gate: { ...m.gate!, sha256: "0".repeat(64) } }));
      await copyFile(join(defaultModelDir(), manifest.gate!.file), join(dir, manifest.gate!.file));
      return dir;
    }],
  ])("rejects %s with a ModelLoadError of failure %s", async (_case, failure, folder) => {
    // Prepare
    const dir = await folder();
    // Act
    const error = await OnnxModel.load(dir, { threads: 1 }).catch((e: unknown) => e);
    // Assess
    expect(error).toBeInstanceOf(ModelLoadError);
    expect((error as ModelLoadError).failure).toBe(failure);
  });
});
