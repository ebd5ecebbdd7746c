import { logger } from "../core/logger.js";
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
