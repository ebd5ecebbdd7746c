/**
 * `npm run start:gpu`, and the GPU image's entry point: the batching server (lambda/server) on PORT, with
 * dynamic batching, worker-thread preprocessing, a bounded queue, /metrics and a graceful SIGTERM drain.
 * Settings come from environment variables (lambda/server/server-config.ts, listed in the README).
 */
import { startBatchingServer } from "./server/batching-server.js";
import { serverConfigFromEnv } from "./server/server-config.js";
import { siblingWorkerUrl } from "./server/worker-thread.js";
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
const server = await startBatchingServer(config, workerUrls).catch((error: unknown) => {
  // Listening failed: the port is taken, say, or the host name cannot be bound.
  logger.error("the server could not listen", { port: config.port, host: config.host, error: error as Error });
  console.error(`Cannot listen on ${config.host}:${config.port}: ${(error as Error).message}`);
  process.exit(1);
});
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    logger.info("signal received", { signal });
    void server.shutdown().then((finished) => process.exit(finished ? 0 : 1));
  });
}
try {
  await server.ready;
} catch (error) {
  logger.error("the server could not start", { error: error as Error });
  process.exit(1);
}
console.error(`Pneumonia classifier (batching server) ready at ${server.url}/pneumonia_classifier (docs: ${server.url}/docs, metrics: ${server.url}/metrics)`);
