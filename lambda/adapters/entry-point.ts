import type { ModelUnavailableError } from "../core/errors.js";
import { logger } from "../core/logger.js";
import { defaultModelDir } from "../core/model/manifest.js";
import { ModelLoadError } from "../core/model/model-load-error.js";
import { ListenError } from "./listen-error.js";

/**
 * Ends the process of a server that cannot listen: the ListenError's one line on stderr (it names the port
 * and what to do), exit code 1. Anything else is rethrown.
 */
export function exitIfCannotListen(error: unknown): never {
  if (!(error instanceof ListenError)) throw error;
  console.error(error.message);
  process.exit(1);
}

/**
 * On SIGINT or SIGTERM, stops the server once (`stop` resolves true when everything in progress was
 * answered) and exits 0, or 1 if it could not finish.
 */
export function stopOnSignal(stop: () => Promise<boolean>): void {
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      logger.info("signal received", { signal });
      void stop().then((finished) => process.exit(finished ? 0 : 1));
    });
  }
}

/**
 * Says on stderr, in the line where "ready" would be, that the server is up but cannot classify and what
 * to fix. The reason was logged at ERROR where the load failed; requests get 503 MODEL_UNAVAILABLE.
 */
export function reportModelUnavailable(url: string, error: ModelUnavailableError): void {
  const why = error.cause instanceof ModelLoadError ? error.cause.reason : String((error.cause as Error | undefined)?.message ?? error.message);
  console.error(
    `Pneumonia classifier at ${url} cannot classify: the model in ${defaultModelDir()} could not be loaded (${why}). ` +
      "Set MODEL_DIR to the model's folder and restart; until then /health and classification answer 503 MODEL_UNAVAILABLE.",
  );
}
