import { Worker } from "node:worker_threads";
import { logger } from "./logger.js";

/**
 * A small young generation for every worker. The workers' garbage is large and short-lived (a decoded
 * full-resolution X-ray is megabytes of ArrayBuffer outside the V8 heap, freed only when its small wrapper is
 * collected), and V8 sizes the young generation by the heap, not by what it holds: with its default (16 MiB and
 * up) each worker kept tens of MiB of dead pixels between scavenges (README, Overload: about 65 MB of peak RSS
 * under `npm run bench:overload`, throughput unchanged).
 */
const WORKER_RESOURCE_LIMITS = { maxYoungGenerationSizeMb: 2 };

/**
 * A worker thread running a module of lambda/. Worker threads do not inherit tsx's loader (tsx issue #354),
 * so a TypeScript module (the servers started from source, as the tests do) is imported after registering tsx in the
 * worker itself; the bundle's .mjs workers start directly.
 */
export function startWorkerThread(url: URL, workerData: unknown): Worker {
  if (!url.pathname.endsWith(".ts")) return new Worker(url, { workerData, resourceLimits: WORKER_RESOURCE_LIMITS });
  const bootstrap = `import("tsx/esm/api").then(({ register }) => { register(); return import(${JSON.stringify(url.href)}); })`;
  return new Worker(bootstrap, { eval: true, workerData, resourceLimits: WORKER_RESOURCE_LIMITS });
}

/** The URL of a worker module that sits next to the calling entry point: `.ts` under tsx, `.mjs` in the bundle. */
export function siblingWorkerUrl(name: string, entryUrl: string): URL {
  return new URL(`./${name}${entryUrl.endsWith(".ts") ? ".ts" : ".mjs"}`, entryUrl);
}

/** What a worker that has started sends first: its "ready" message, with whatever it reports. */
type ReadyMessage = { ready: true };

/** What the owner of a started worker hears from it after its ready message. */
export interface WorkerListeners<Message> {
  /** Names the worker in logs, e.g. "preprocessing". */
  name: string;
  onMessage(message: Message): void;
  onExit(code: number): void;
}

/**
 * Starts a worker and resolves with it and its ready message once it has sent one; rejects if it fails or
 * exits before, so a worker that cannot start is never waited on. Later messages and the exit go to the
 * listeners; a later error is logged (its exit follows).
 */
export function startReadyWorker<Ready extends ReadyMessage, Message>(
  url: URL,
  workerData: unknown,
  listeners: WorkerListeners<Message>,
): Promise<{ worker: Worker; ready: Ready }> {
  const worker = startWorkerThread(url, workerData);
  return new Promise((resolve, reject) => {
    let started = false;
    worker.on("message", (message: Ready | Message) => {
      if (!started && typeof message === "object" && message !== null && "ready" in message) {
        started = true;
        resolve({ worker, ready: message as Ready });
      } else listeners.onMessage(message as Message);
    });
    worker.on("error", (error) => {
      if (started) logger.error(`${listeners.name} worker failed`, { error });
      else reject(error);
    });
    worker.on("exit", (code) => {
      if (started) listeners.onExit(code);
      else reject(new Error(`The ${listeners.name} worker exited with ${code} before it was ready.`));
    });
  });
}
