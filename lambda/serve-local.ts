/**
 * `npm start`: the local API on PORT (default 3000), serving the Lambda handler through the local front.
 */
import { createLocalApi } from "./adapters/local-api.js";
import { handler } from "./handler.js";
import { inProcessModel } from "./core/model/in-process-model.js";
import { logger } from "./core/logger.js";

const port = Number(process.env.PORT ?? 3000);
const host = process.env.HOST ?? "127.0.0.1";

const { manifest } = await inProcessModel();
const server = createLocalApi(handler).listen(port, host, () => {
  const address = server.address();
  const url = `http://${host}:${typeof address === "object" && address ? address.port : port}`;
  logger.info("local API listening", { url, model: { name: manifest.name, version: manifest.version } });
  console.error(`Pneumonia classifier ready at ${url}/pneumonia_classifier (docs: ${url}/docs)`);
});

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => server.close(() => process.exit(0)));
}
