/**
 * `npm run start:gpu`, and the GPU image's entry point: the batching server (lambda/server) on PORT, with
 * dynamic batching, worker-thread preprocessing, a bounded queue, /metrics and a graceful SIGTERM drain.
 * Settings come from environment variables (lambda/server/server-config.ts, listed in the README).
 */
import { startBatchingServer } from "./server/batching-server.js";
import { serverConfigFromEnv } from "./server/server-config.js";
import { siblingWorkerUrl } from "./core/worker-thread.js";
import { exitIfCannotListen, reportModelUnavailable, stopOnSignal } from "./adapters/entry-point.js";
import { ModelUnavailableError } from "./core/errors.js";
import { logger } from "./core/logger.js";

// The workers sit next to this file: lambda/*.ts under tsx, dist/lambda/*.mjs in the bundle.
const workerUrls = {
  preprocess: siblingWorkerUrl("preprocess-worker", import.meta.url),
  inference: siblingWorkerUrl("inference-worker", import.meta.url),
};

let config;
try {
  config = serverConfigFromEnv();
} catch (error) {
  console.error((error as Error).message);
  process.exit(2);
}
const server = await startBatchingServer(config, workerUrls).catch(exitIfCannotListen);
stopOnSignal(() => server.shutdown());
try {
  await server.ready;
  console.error(`Pneumonia classifier (batching server) ready at ${server.url}/pneumonia_classifier (web page: ${server.url}/, docs: ${server.url}/docs, metrics: ${server.url}/metrics)`);
} catch (error) {
  // A model that cannot load leaves the server up, answering 503 with the reason; anything else ends it.
  if (!(error instanceof ModelUnavailableError)) {
    logger.error("the server could not start", { error: error as Error });
    process.exit(1);
  }
  reportModelUnavailable(server.url, error);
}
