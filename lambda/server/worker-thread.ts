import { Worker } from "node:worker_threads";

/**
 * A worker thread running a module of lambda/. Worker threads do not inherit tsx's loader (tsx issue #354),
 * so a TypeScript module (npm run start:gpu, in development) is imported after registering tsx in the
 * worker itself; the bundle's .mjs workers start directly.
 */
export function startWorkerThread(url: URL, workerData: unknown): Worker {
  if (!url.pathname.endsWith(".ts")) return new Worker(url, { workerData });
  const bootstrap = `import("tsx/esm/api").then(({ register }) => { register(); return import(${JSON.stringify(url.href)}); })`;
  return new Worker(bootstrap, { eval: true, workerData });
}

/** The URL of a worker module that sits next to the calling entry point: `.ts` under tsx, `.mjs` in the bundle. */
export function siblingWorkerUrl(name: string, entryUrl: string): URL {
  return new URL(`./${name}${entryUrl.endsWith(".ts") ? ".ts" : ".mjs"}`, entryUrl);
}
