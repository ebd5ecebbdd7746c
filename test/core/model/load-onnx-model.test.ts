import { describe, expect, it } from "vitest";
import { globSync } from "tinyglobby";
import { executionProvidersFromEnv, loadOnnxModel } from "../../../lambda/core/model/load-onnx-model.js";
import { defaultModelDir } from "../../../lambda/core/model/manifest.js";

describe("executionProvidersFromEnv", () => {
  it.each([
    ["unset", undefined, ["cpu"]],
    ["empty", "", ["cpu"]],
    ["the GPU image's value", "cuda,cpu", ["cuda", "cpu"]],
    ["spaces, capitals and empty items", " CUDA , cpu ,", ["cuda", "cpu"]],
  ])("reads %s as the providers in order", (_case, value, expected) => {
    // Act
    const providers = executionProvidersFromEnv(value);
    // Assess
    expect(providers).toEqual(expected);
  });
});

/** Whether onnxruntime-node has its CUDA provider here (the GPU image downloads it; npm ci does not). */
const cudaProviderPresent = globSync("node_modules/onnxruntime-node/bin/napi-v*/linux/x64/libonnxruntime_providers_cuda.so").length > 0;

describe("loadOnnxModel", () => {
  it.skipIf(cudaProviderPresent)("runs on the CPU when CUDA is asked for but cannot load", async () => {
    // Act
    const model = await loadOnnxModel(defaultModelDir(), { executionProviders: ["cuda", "cpu"], threads: 1 });
    // Assess
    expect(model.executionProviders).toEqual(["cpu"]);
    await expect(model.classify(new Float32Array(model.inputSize))).resolves.toHaveProperty("prediction");
  });
});
