import { createApp } from "../core/http/app.js";
import { ERROR_CODES, TemporarilyUnavailableError, type ModelUnavailableError } from "../core/errors.js";
import { ModelLoadError, modelUnavailableError } from "../core/model/model-load-error.js";
import { BATCH_LIMITS, MIB } from "../core/limits.js";
import { logger } from "../core/logger.js";
import { defaultModelDir } from "../core/model/manifest.js";
import { API_HOSTS, batchTooLargeError } from "../core/http/api-host.js";
import { SERVER_ROUTES, type RouteName } from "../core/http/routes.js";
import type { ApiError } from "../core/errors.js";
import type { IncomingMessage } from "node:http";
import { AsyncLocalStorage } from "node:async_hooks";
import { appHandler, createNodeHttpFront } from "../adapters/node-http.js";
import { AdmissionControl, SHED_REASONS, type Admission } from "./admission-control.js";
import { BatchingImageClassifier } from "./batching-image-classifier.js";
import { InferenceBatcher } from "./inference-batcher.js";
import { InferenceThread } from "./inference-thread.js";
import { PreprocessPool } from "./preprocess-pool.js";
import { ServerMetrics } from "./server-metrics.js";
import type { BatchingServerConfig } from "./server-config.js";

/** A running batching server. */
export interface BatchingServer {
  /** Where it listens, e.g. http://127.0.0.1:8080. */
  url: string;
  /**
   * Resolves once the model is loaded and a warm-up batch ran; from then /health answers 200. Rejects with a
   * ModelUnavailableError when the model cannot be loaded (the server stays up, answering 503 with the
   * reason), with another error when it cannot start otherwise.
   */
  ready: Promise<void>;
  /**
   * Refuses new work (503, /health too, so load balancers stop sending), answers everything in progress,
   * then stops the workers. Resolves false if config.shutdownTimeoutMs passed first.
   */
  shutdown(): Promise<boolean>;
}

type State =
  | { phase: "starting" }
  | { phase: "ready"; images: BatchingImageClassifier }
  | { phase: "unavailable"; error: ModelUnavailableError }
  | { phase: "draining" };

const STARTING = new TemporarilyUnavailableError(ERROR_CODES.modelUnavailable, "The server is loading and warming up the model; retry in a few seconds.", 5);
const DRAINING = new TemporarilyUnavailableError(ERROR_CODES.shuttingDown, "This instance is shutting down; send the request again (to another instance).", 1);

/** The classification routes, whose requests the server may refuse before reading their bodies. */
const CLASSIFY_ROUTES = (["classify", "classifyBatch"] as const satisfies readonly RouteName[]).map((name) => ({ name, ...SERVER_ROUTES[name] }));

/** The classification route a request is for, if any. */
function classifyRouteOf(request: IncomingMessage): RouteName | undefined {
  const path = new URL(request.url ?? "/", "http://localhost").pathname;
  return CLASSIFY_ROUTES.find((route) => route.path === path && route.method === request.method)?.name;
}

/**
 * A signal aborted if the client's connection closes, as a request waiting for admission learns that its client
 * left, and the call that stops watching (a kept-alive connection carries many requests).
 */
function watchClient(request: IncomingMessage): { gone: AbortSignal; stop: () => void } {
  const controller = new AbortController();
  const onClose = () => controller.abort(new TemporarilyUnavailableError(ERROR_CODES.overloaded, "The client left while its request waited for admission.", 1));
  request.socket.once("close", onClose);
  return { gone: controller.signal, stop: () => request.socket.off("close", onClose) };
}

/** The worker modules the server starts: lambda/preprocess-worker and lambda/inference-worker, .ts or bundled .mjs. */
export interface WorkerUrls {
  preprocess: URL;
  inference: URL;
}

/**
 * The GPU service's server: the API's routes, the batch route and /metrics, over worker-thread
 * preprocessing and dynamic batching. It listens at once, answering 503 until the model is warm; it rejects
 * with a ListenError when it cannot listen.
 */
export async function startBatchingServer(config: BatchingServerConfig, workerUrls: WorkerUrls, modelDir = defaultModelDir()): Promise<BatchingServer> {
  let state: State = { phase: "starting" };
  let pool: PreprocessPool | undefined;
  let model: InferenceThread | undefined;
  let batcher: InferenceBatcher | undefined;
  const metrics = new ServerMetrics({
    inFlight: (): number => admission.admitted,
    awaitingPreprocessing: () => pool?.queued ?? 0,
    awaitingInference: () => batcher?.queued ?? 0,
    awaitingAdmission: (): number => admission.waitingRequests,
  });
  const admission = new AdmissionControl(
    { maxInFlight: config.maxInFlightImages, maxWaitMs: config.maxQueueWaitMs, saturated: () => (pool?.queued ?? 0) > 0, finishImages: 2 * config.maxBatchSize },
    metrics,
  );
  const unavailable = () => {
    if (state.phase === "unavailable") return state.error;
    return state.phase === "starting" ? STARTING : DRAINING;
  };
  const images = async () => {
    if (state.phase === "ready") return state.images;
    throw unavailable();
  };
  const app = createApp({ images, metrics: () => metrics.render(), observe: (outcome) => metrics.observe(outcome) }, API_HOSTS.batching);
  // Refusals answered from the headers never reach the app: their outcomes are reported here, so /metrics and
  // CloudWatch count them as the app counts its own.
  const reportRefusal = (request: IncomingMessage, refusal: ApiError, route = classifyRouteOf(request)) => {
    const model = state.phase === "ready" ? { name: state.images.manifest.name, version: state.images.manifest.version } : undefined;
    const error = { status: refusal.status, code: refusal.code };
    metrics.observe({ route, status: refusal.status, error, model, images: [], timingsMs: { total: 0 } });
  };
  const admittedFromHeaders = new WeakMap<IncomingMessage, Admission>();
  const serving = new AsyncLocalStorage<Admission>();
  const handle = appHandler(app);
  const front = createNodeHttpFront(async (request, body) => {
    const admitted = admittedFromHeaders.get(request);
    if (!admitted) return handle(request, body);
    try {
      return await serving.run(admitted, () => handle(request, body));
    } finally {
      admitted.release();
    }
  }, {
    // The batch route's limit: the classify route's own (lower) limit is the app's to answer.
    maxBodyBytes: BATCH_LIMITS.maxBodyBytes,
    tooLarge: batchTooLargeError,
    maxBufferedBytes: config.maxBufferedMiB * MIB,
    bufferFull: () => admission.shed(SHED_REASONS.bufferFull),
    // A classification is admitted (after waiting for room, its body unread) or refused from its headers, and
    // its budget runs from then: one image is the least a request brings, and a batch takes the rest once its
    // form is read.
    refuseEarly: async (request) => {
      const route = classifyRouteOf(request);
      if (!route) return undefined;
      const client = watchClient(request);
      try {
        if (state.phase !== "ready") throw unavailable();
        admittedFromHeaders.set(request, await admission.admitWhenRoom(1, client.gone));
        return undefined;
      } catch (error) {
        // A client that left while it waited gets no answer, and none is counted.
        if (!client.gone.aborted) reportRefusal(request, error as ApiError, route);
        return error as ApiError;
      } finally {
        client.stop();
      }
    },
    onRefused: reportRefusal,
  });
  const url = await front.listen(config.port, config.host);
  logger.info("batching server listening; warming up", { url, config });

  const ready = (async () => {
    model = await InferenceThread.start(workerUrls.inference, { modelDir, threads: config.inferenceThreads }).catch((error: unknown) => {
      if (!(error instanceof ModelLoadError)) throw error;
      // The worker logged why; the server stays up, answering 503 with the reason, /health included.
      const unavailable = modelUnavailableError(error);
      if (state.phase === "starting") state = { phase: "unavailable", error: unavailable };
      throw unavailable;
    });
    const { manifest, inputSize } = model;
    pool = await PreprocessPool.start({
      workerUrl: workerUrls.preprocess,
      threads: config.preprocessThreads,
      spec: manifest.input.preprocessing,
      taskTimeoutMs: config.preprocessTimeoutMs,
      onWait: (ms) => metrics.onPreprocessWait(ms),
    });
    batcher = new InferenceBatcher(model, { maxBatchSize: config.maxBatchSize, maxWaitMs: config.maxWaitMs }, metrics);
    // A full batch allocates what every later batch reuses (and, on CUDA, picks kernels for its shape).
    const warmUpStarted = performance.now();
    await model.classifyBatch(Array.from({ length: config.maxBatchSize }, () => new Float32Array(inputSize)));
    if (state.phase !== "starting") return;
    state = { phase: "ready", images: new BatchingImageClassifier(manifest, pool, batcher, admission, metrics, () => serving.getStore()) };
    logger.info("batching server ready", {
      executionProviders: model.executionProviders,
      preprocessThreads: config.preprocessThreads,
      batching: { maxBatchSize: config.maxBatchSize, maxWaitMs: config.maxWaitMs },
      warmUpBatchMs: Math.round(performance.now() - warmUpStarted),
    });
  })();

  return {
    url,
    ready,
    async shutdown() {
      state = { phase: "draining" };
      logger.info("draining: refusing new work, answering what is in progress");
      const finished = await front.drain(config.shutdownTimeoutMs);
      await Promise.all([pool?.close(), model?.close()]);
      logger.info(finished ? "drained" : "shutdown timeout passed with requests still in progress", { timeoutMs: config.shutdownTimeoutMs });
      return finished;
    },
  };
}
