/**
 * A preprocessing worker thread of the batching server (lambda/server/preprocess-pool.ts): the core's one
 * preprocessing, off the server's event loop. Bundled next to the server, which starts it by file name.
 */
import { parentPort, workerData } from "node:worker_threads";
import { preprocessImage, warmUpPreprocessing } from "./core/model/preprocess.js";
import { toApiError } from "./core/errors.js";
import { logger } from "./core/logger.js";
import type { FromWorker, PreprocessWorkerData, ToWorker } from "./server/preprocess-pool.js";

const port = parentPort!;
const { spec } = workerData as PreprocessWorkerData;

await warmUpPreprocessing(spec);
port.on("message", ({ id, bytes }: ToWorker) => {
  preprocessImage(bytes, spec).then(
    ({ header, tensor }) => port.postMessage({ id, header, tensor } satisfies FromWorker, [tensor.buffer as ArrayBuffer]),
    (error: unknown) => {
      const answer = toApiError(error);
      if (answer.status >= 500) logger.error("preprocessing failed unexpectedly", { error: error as Error });
      port.postMessage({ id, error: answer.toData() } satisfies FromWorker);
    },
  );
});
port.postMessage({ ready: true } satisfies FromWorker);
