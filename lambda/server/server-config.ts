import { BATCH_LIMITS } from "../core/limits.js";
import { usableCpuCount } from "../core/cpu-count.js";

/** How the batching server runs; every field has an environment variable, listed in SERVER_SETTINGS. */
export interface BatchingServerConfig {
  port: number;
  host: string;
  maxBatchSize: number;
  maxWaitMs: number;
  maxInFlightImages: number;
  maxQueueWaitMs: number;
  preprocessThreads: number;
  inferenceThreads: number;
  preprocessTimeoutMs: number;
  shutdownTimeoutMs: number;
  maxBufferedMiB: number;
}

type NumericSetting = Exclude<keyof BatchingServerConfig, "host">;

/** The numeric settings: environment variable, default, allowed range and what each is for (the README lists them). */
export const SERVER_SETTINGS: Record<NumericSetting, { env: string; default: () => number; min: number; max: number; doc: string }> = {
  port: { env: "PORT", default: () => 8080, min: 0, max: 65535, doc: "Port to listen on (0: any free port)" },
  maxBatchSize: { env: "BATCH_MAX_SIZE", default: () => 16, min: 1, max: 256, doc: "Images in one run of the model; 1 turns batching off" },
  maxWaitMs: { env: "BATCH_MAX_WAIT_MS", default: () => 5, min: 0, max: 1000, doc: "How long the oldest image waits for its batch to fill" },
  maxInFlightImages: {
    env: "QUEUE_MAX_IMAGES",
    default: () => 128,
    min: BATCH_LIMITS.maxFiles,
    max: 10_000,
    doc: "Images admitted at once; past it, 503 with Retry-After (at least one full batch request)",
  },
  maxQueueWaitMs: {
    env: "QUEUE_MAX_WAIT_MS",
    default: () => 1000,
    min: 10,
    max: 600_000,
    doc: "Latency budget: a request is admitted only if the images ahead and its own can be answered within it, at the measured time per image; an image still waiting when it runs out is dropped with 503",
  },
  preprocessThreads: { env: "PREPROCESS_THREADS", default: usableCpuCount, min: 1, max: 256, doc: "Worker threads that decode and scale images" },
  inferenceThreads: { env: "INFERENCE_THREADS", default: usableCpuCount, min: 1, max: 256, doc: "Threads of one CPU run of the model (unused on the GPU)" },
  preprocessTimeoutMs: { env: "PREPROCESS_TIMEOUT_MS", default: () => 10_000, min: 100, max: 600_000, doc: "An image not preprocessed by then gets 422" },
  shutdownTimeoutMs: {
    env: "SHUTDOWN_TIMEOUT_MS",
    default: () => 50_000,
    min: 0,
    max: 600_000,
    doc: "On SIGTERM, how long to finish what is in progress before exiting (the ECS stop timeout is 60 s)",
  },
  maxBufferedMiB: { env: "MAX_BUFFERED_MB", default: () => 256, min: 64, max: 65_536, doc: "MiB of request bodies held at once; past it, 503" },
};

/** The configuration from environment variables; throws naming the variable, the value and the range when one is off. */
export function serverConfigFromEnv(env: NodeJS.ProcessEnv = process.env): BatchingServerConfig {
  const numeric = Object.fromEntries(
    Object.entries(SERVER_SETTINGS).map(([key, setting]) => {
      const raw = env[setting.env]?.trim();
      if (!raw) return [key, setting.default()];
      const value = Number(raw);
      if (!Number.isInteger(value) || value < setting.min || value > setting.max) {
        throw new Error(`${setting.env}="${raw}" is not a whole number from ${setting.min} to ${setting.max}. ${setting.doc}.`);
      }
      return [key, value];
    }),
  ) as Record<NumericSetting, number>;
  if (numeric.maxQueueWaitMs <= numeric.maxWaitMs) {
    // Every image waits up to BATCH_MAX_WAIT_MS for its batch: a budget no longer than that drops images for it.
    throw new Error(
      `QUEUE_MAX_WAIT_MS=${numeric.maxQueueWaitMs} must be over BATCH_MAX_WAIT_MS=${numeric.maxWaitMs}: images wait up to the latter for a batch, and are dropped once the former runs out.`,
    );
  }
  return { ...numeric, host: env.HOST?.trim() || "127.0.0.1" };
}
