import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { globSync } from "tinyglobby";
import { executionProvidersFromEnv } from "../../../lambda/core/model/load-onnx-model.js";

const run = promisify(execFile);

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

/** Loads the served model with `loadOnnxModel(dir, options)` in a process of its own; what it made of it and logged. */
async function loadInChildProcess(options: object) {
  const probe = `
    const { loadOnnxModel } = await import(${JSON.stringify(new URL("../../../lambda/core/model/load-onnx-model.ts", import.meta.url).href)});
    const model = await loadOnnxModel(undefined, ${JSON.stringify(options)});
    const { prediction } = await model.classify(new Float32Array(model.inputSize));
    console.log("PROBE " + JSON.stringify({ executionProviders: model.executionProviders, prediction }));
  `;
  const { stdout, stderr } = await run(process.execPath, ["--import", "tsx", "--input-type=module", "-e", probe], {
    env: { ...process.env, POWERTOOLS_LOG_LEVEL: "WARN" },
  });
  const lines = `${stdout}\n${stderr}`.split("\n");
  return {
    result: JSON.parse(lines.find((line) => line.startsWith("PROBE "))!.slice("PROBE ".length)),
    logs: lines.filter((line) => line.startsWith("{")).map((line) => JSON.parse(line)),
  };
}

describe("loadOnnxModel", () => {
  // onnxruntime writes why CUDA failed to the process's stderr from native code, past vitest: the load runs
  // in a child process, so its output stays out of the test run and in reach of the test.
  it.skipIf(cudaProviderPresent)("runs on the CPU, with a warning, when CUDA is asked for but cannot load", async () => {
    // Act
    const { result, logs } = await loadInChildProcess({ executionProviders: ["cuda", "cpu"], threads: 1 });
    // Assess
    expect(result).toEqual({ executionProviders: ["cpu"], prediction: expect.stringMatching(/^(NORMAL|PNEUMONIA)$/) });
    expect(logs).toContainEqual(expect.objectContaining({ level: "WARN", message: "execution providers unavailable, falling back to the CPU", requested: ["cuda", "cpu"] }));
  });
});
