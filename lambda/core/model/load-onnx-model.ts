import { OnnxModel, type OnnxModelOptions, type ExecutionProviderName } from "./onnx-model.js";
import { defaultModelDir } from "./manifest.js";
import { ModelLoadError } from "./model-load-error.js";
import { logger } from "../logger.js";

/**
 * Execution providers from ONNX_EXECUTION_PROVIDERS: names separated by commas, in order of preference
 * ("cuda,cpu" in the GPU image); ["cpu"] when unset or empty. onnxruntime rejects a name it does not know.
 */
export function executionProvidersFromEnv(value = process.env.ONNX_EXECUTION_PROVIDERS): ExecutionProviderName[] {
  const names = (value ?? "").split(",").map((name) => name.trim().toLowerCase()).filter(Boolean);
  return names.length > 0 ? (names as ExecutionProviderName[]) : ["cpu"];
}

/** The last failure logged, so a load retried on every request (in-process-model.ts) logs its reason once. */
let lastLoggedFailure: string | undefined;

/**
 * Loads the model with the execution providers asked for (ONNX_EXECUTION_PROVIDERS unless given), and logs
 * which ones it runs on. When an accelerator's provider cannot load (no GPU, no driver, missing CUDA
 * libraries), onnxruntime fails rather than falling back: the load is retried on the CPU, with a warning, so
 * the service still answers, slower. Any other failure is logged at ERROR, once while it stays the same,
 * and thrown.
 */
export async function loadOnnxModel(modelDir: string = defaultModelDir(), options: OnnxModelOptions = {}): Promise<OnnxModel> {
  const started = performance.now();
  const executionProviders = options.executionProviders ?? executionProvidersFromEnv();
  let model: OnnxModel;
  try {
    model = await OnnxModel.load(modelDir, { ...options, executionProviders }).catch(async (error: unknown) => {
      const onAccelerator = executionProviders.some((provider) => provider !== "cpu");
      if (!(onAccelerator && error instanceof ModelLoadError && error.failure === "sessionFailed")) throw error;
      logger.warn("execution providers unavailable, falling back to the CPU", { requested: executionProviders, error });
      return OnnxModel.load(modelDir, { ...options, executionProviders: ["cpu"] });
    });
  } catch (error) {
    const reason = error instanceof ModelLoadError ? error.reason : undefined;
    const failure = `${modelDir}: ${reason ?? (error as Error).message}`;
    if (failure !== lastLoggedFailure) logger.error("model failed to load", { modelDir, reason, error: error as Error });
    lastLoggedFailure = failure;
    throw error;
  }
  lastLoggedFailure = undefined;
  const { name, version, sha256 } = model.manifest;
  logger.info("model loaded", {
    model: { name, version, sha256 },
    executionProviders: model.executionProviders,
    requestedExecutionProviders: executionProviders,
    loadMs: Math.round(performance.now() - started),
  });
  return model;
}
