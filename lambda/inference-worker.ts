/**
 * The inference worker thread of the batching server (lambda/server/inference-thread.ts): loads the model
 * (CUDA when asked for and present, else the CPU) and runs each batch it is sent, off the server's event loop.
 */
import { parentPort, workerData } from "node:worker_threads";
import { loadOnnxModel } from "./core/model/load-onnx-model.js";
import type { FromInferenceWorker, InferenceWorkerData, ToInferenceWorker } from "./server/inference-thread.js";

const port = parentPort!;
const { modelDir, threads } = workerData as InferenceWorkerData;

// Idle threads must not spin: the preprocessing workers need the cores.
const model = await loadOnnxModel(modelDir, { threads, spinWhileIdle: false });
port.on("message", ({ id, tensors, explain }: ToInferenceWorker) => {
  model.classifyBatch(tensors, explain).then(
    (results) => port.postMessage({ id, results } satisfies FromInferenceWorker),
    (error: unknown) => port.postMessage({ id, error: (error as Error).message } satisfies FromInferenceWorker),
  );
});
port.postMessage({ ready: true, manifest: model.manifest, executionProviders: [...model.executionProviders] } satisfies FromInferenceWorker);
