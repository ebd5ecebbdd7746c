import { AsyncLocalStorage } from "node:async_hooks";
import type { Context } from "aws-lambda";
import { createApp } from "./core/http/app.js";
import { lambdaHost, type ApiHost } from "./core/http/api-host.js";
import { inProcessModel } from "./core/model/in-process-model.js";
import { inProcessImageClassifier, type ImageClassifier } from "./core/model/image-classifier.js";
import { warmUpPreprocessing } from "./core/model/preprocess.js";
import { BadRequestError, ERROR_CODES } from "./core/errors.js";
import { logger } from "./core/logger.js";
import { CloudWatchMetrics } from "./adapters/cloudwatch-metrics.js";
import { RemainingTimeGuard } from "./adapters/remaining-time-guard.js";
import { apiRequestIdOf, toCoreRequest, toProxyResult, type ApiGatewayEvent, type ApiGatewayResult, type ProxyHandler } from "./adapters/api-gateway-event.js";

let images: ImageClassifier | undefined;
const inProcessImages = async () => (images ??= inProcessImageClassifier(await inProcessModel()));

// Start loading during the Lambda init phase, which runs before the first request: the ONNX session
// (created and warmed once), then the preprocessing, run once on a small JPEG so the first request does not
// pay for compiling the decoder's WebAssembly and running every step for the first time. A model failure
// here is logged by loadOnnxModel and answered as 503 by the request that awaits it.
inProcessModel().then(
  (model) =>
    warmUpPreprocessing(model.manifest.input.preprocessing).catch((error: unknown) => logger.error("preprocessing warm-up failed", { error: error as Error })),
  () => undefined,
);

/**
 * The Lambda handler for a host of it: the Lambda function itself, or `npm start`'s local front, whose
 * answers point to the batching server differently. Both classify in process with the one model, refuse with
 * 503 a classification the invocation's remaining time cannot cover (RemainingTimeGuard), and write each
 * invocation's CloudWatch metrics before it returns (when POWERTOOLS_METRICS_NAMESPACE is set).
 */
export function createHandler(host: ApiHost): ProxyHandler {
  const metrics = new CloudWatchMetrics(host.name);
  // The invocation a classification belongs to: `npm start` runs several at once through one handler.
  const invocation = new AsyncLocalStorage<Context>();
  const timeGuard = new RemainingTimeGuard();
  // Lambda's context always has getRemainingTimeInMillis; a hand-made one (a script, a test harness) may not: no deadline then.
  const remainingMs = () => invocation.getStore()?.getRemainingTimeInMillis?.() ?? Infinity;
  const images = async () => timeGuard.guard(await inProcessImages(), remainingMs);
  const app = createApp({ images, observe: (outcome) => metrics.publishOutcome(outcome) }, host);
  return async (event: ApiGatewayEvent, context: Context): Promise<ApiGatewayResult> => {
    logger.addContext(context);
    metrics.captureColdStart(context.functionName);
    logger.appendKeys({ apiRequestId: apiRequestIdOf(event) });
    try {
      let request;
      try {
        request = toCoreRequest(event);
      } catch (error) {
        logger.warn("event is not an API Gateway proxy event", { error: error as Error });
        return toProxyResult(new BadRequestError(ERROR_CODES.badRequest, "The event is not an API Gateway proxy event (payload 1.0 or 2.0).").toResponse());
      }
      return toProxyResult(await invocation.run(context, () => app(request)));
    } finally {
      logger.removeKeys(["apiRequestId"]);
    }
  };
}

/** Lambda entry point for API Gateway REST (payload 1.0) and HTTP API (payload 2.0) proxy integrations. */
export const handler = createHandler(lambdaHost(process.env));
