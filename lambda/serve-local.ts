/**
 * `npm start`: the local API on PORT (default 3000), serving the Lambda handler through the local front.
 */
import { createLocalApi } from "./adapters/local-api.js";
import { exitIfCannotListen, reportModelUnavailable, stopOnSignal } from "./adapters/entry-point.js";
import { createHandler } from "./handler.js";
import { API_HOSTS } from "./core/http/api-host.js";
import { inProcessModel } from "./core/model/in-process-model.js";
import type { ModelUnavailableError } from "./core/errors.js";
import { logger } from "./core/logger.js";

/** How long a stop waits for the requests in progress: one request takes well under a second. */
const SHUTDOWN_TIMEOUT_MS = 10_000;

const port = Number(process.env.PORT ?? 3000);
const host = process.env.HOST ?? "127.0.0.1";

const front = createLocalApi(createHandler(API_HOSTS.local), API_HOSTS.local);
const url = await front.listen(port, host).catch(exitIfCannotListen);
stopOnSignal(() => front.drain(SHUTDOWN_TIMEOUT_MS));

try {
  const { manifest } = await inProcessModel();
  logger.info("local API listening", { url, model: { name: manifest.name, version: manifest.version } });
  console.error(`Pneumonia classifier ready at ${url}/pneumonia_classifier (web page: ${url}/, docs: ${url}/docs)`);
} catch (error) {
  // The server stays up: each request tries the model again (as in Lambda) and gets 503 while it fails.
  reportModelUnavailable(url, error as ModelUnavailableError);
}
