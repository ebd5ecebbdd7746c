import type { OnnxModel } from "./onnx-model.js";
import { defaultModelDir } from "./manifest.js";
import { loadOnnxModel } from "./load-onnx-model.js";
import { modelUnavailableError } from "./model-load-error.js";

let loading: Promise<OnnxModel> | undefined;

/**
 * The model loaded in this process, for the Lambda handler and `npm start` (the batching server loads its
 * own on a worker thread). Loaded on first call; a failed load is logged, answered as 503 and retried by the
 * next call, so a transient failure does not poison a warm Lambda environment.
 */
export function inProcessModel(modelDir: string = defaultModelDir()): Promise<OnnxModel> {
  loading ??= loadOnnxModel(modelDir).catch((error: unknown) => {
    loading = undefined;
    throw modelUnavailableError(error);
  });
  return loading;
}
