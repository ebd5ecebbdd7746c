import { Classifier, type ExecutionProviderName } from "./classifier.js";
import { defaultModelDir } from "./manifest.js";
import { ModelUnavailableError } from "./errors.js";
import { logger } from "./logger.js";

let loading: Promise<Classifier> | undefined;

/**
 * The process's one classifier, loaded on first call. A failed load is logged, answered as 503 and
 * retried by the next call, so a transient failure does not poison a warm Lambda environment.
 */
export function sharedClassifier(modelDir: string = defaultModelDir()): Promise<Classifier> {
  loading ??= loadLogged(modelDir).catch((error: unknown) => {
    loading = undefined;
    logger.error("model failed to load", { modelDir, error: error as Error });
    throw new ModelUnavailableError("The model could not be loaded; the service cannot classify right now. Retry later.", {
      cause: error,
    });
  });
  return loading;
}

/**
 * Execution providers from ONNX_EXECUTION_PROVIDERS: names separated by commas, in order of preference
 * ("cuda,cpu" in the GPU image); ["cpu"] when unset or empty. onnxruntime rejects a name it does not know.
 */
export function executionProvidersFromEnv(value = process.env.ONNX_EXECUTION_PROVIDERS): ExecutionProviderName[] {
  const names = (value ?? "").split(",").map((name) => name.trim().toLowerCase()).filter(Boolean);
  return names.length > 0 ? (names as ExecutionProviderName[]) : ["cpu"];
}

async function loadLogged(modelDir: string): Promise<Classifier> {
  const started = performance.now();
  const classifier = await Classifier.load(modelDir, { executionProviders: executionProvidersFromEnv() });
  const { name, version, sha256 } = classifier.manifest;
  logger.info("model loaded", {
    model: { name, version, sha256 },
    executionProviders: classifier.executionProviders,
    loadMs: Math.round(performance.now() - started),
  });
  return classifier;
}
