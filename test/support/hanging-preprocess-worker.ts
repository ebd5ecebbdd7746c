/**
 * A preprocessing worker for PreprocessPool's own tests, speaking its protocol without decoding anything:
 * the bytes "hang" keep it busy for ever (as an image that never finishes decoding would), any others get
 * a tensor of four zeros at once.
 */
import { parentPort } from "node:worker_threads";
import type { FromWorker, ToWorker } from "../../lambda/server/preprocess-pool.js";

const port = parentPort!;
port.on("message", ({ id, bytes }: ToWorker) => {
  if (Buffer.from(bytes).toString() === "hang") for (;;);
  port.postMessage({ id, header: { type: "image/png", width: 2, height: 2, orientation: 1 }, tensor: new Float32Array(4) } satisfies FromWorker);
});
port.postMessage({ ready: true } satisfies FromWorker);
