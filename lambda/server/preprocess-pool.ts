import type { Worker } from "node:worker_threads";
import { startReadyWorker } from "../core/worker-thread.js";
import {
  ERROR_CODES,
  InternalError,
  TemporarilyUnavailableError,
  UnusableImageError,
  apiErrorFromData,
  type ApiError,
  type ApiErrorData,
} from "../core/errors.js";
import { logger } from "../core/logger.js";
import type { ImageHeader } from "../core/model/image-header.js";
import type { PreprocessingSpec } from "../core/model/preprocessing-spec.js";
import { dropOnAbort, type QueueOptions } from "./admission-control.js";

/** What the pool hands a worker, once, at start. */
export interface PreprocessWorkerData {
  spec: PreprocessingSpec;
}

/** Messages between the pool and lambda/preprocess-worker.ts. */
export type ToWorker = { id: number; bytes: Uint8Array };
export type FromWorker =
  | { ready: true }
  | { id: number; header: ImageHeader; tensor: Float32Array }
  | { id: number; error: ApiErrorData };

/** Options of the pool; the batching server reads them from its environment. */
export interface PreprocessPoolOptions {
  /** The worker's entry module: lambda/preprocess-worker.ts, or its bundle next to the server's. */
  workerUrl: URL;
  threads: number;
  spec: PreprocessingSpec;
  /** An image still not preprocessed after this long gets 422 and its worker is replaced. */
  taskTimeoutMs: number;
  /** Told how long each image waited for a worker, for metrics. @default - none */
  onWait?: (ms: number) => void;
}

const shuttingDown = () => new TemporarilyUnavailableError(ERROR_CODES.shuttingDown, "The server is shutting down; send the image again.", 1);

interface Task {
  id: number;
  bytes: Uint8Array;
  queuedAt: number;
  resolve: (value: { header: ImageHeader; tensor: Float32Array }) => void;
  reject: (error: ApiError) => void;
  leftQueue: () => void;
}

interface Slot {
  worker: Worker;
  task?: Task;
  timer?: NodeJS.Timeout;
}

/**
 * Preprocessing on worker threads, one image per worker at a time, so decoding uses every core and never
 * blocks the event loop that reads requests. Images wait in arrival order for a free worker. A worker that
 * dies or overruns its time is replaced; the image it held is answered with an error, never lost.
 */
export class PreprocessPool {
  private readonly waiting: Task[] = [];
  private readonly slots = new Set<Slot>();
  private nextId = 0;
  private closed = false;

  private constructor(private readonly options: PreprocessPoolOptions) {}

  /** Starts the workers and resolves once each has its JPEG decoder ready. */
  static async start(options: PreprocessPoolOptions): Promise<PreprocessPool> {
    const pool = new PreprocessPool(options);
    await Promise.all(Array.from({ length: options.threads }, () => pool.spawn()));
    return pool;
  }

  /** Images waiting for a worker. */
  get queued(): number {
    return this.waiting.length;
  }

  /** The model input for one image; rejects with the ApiError that is its answer. */
  preprocess(bytes: Uint8Array, { signal }: QueueOptions = {}): Promise<{ header: ImageHeader; tensor: Float32Array }> {
    if (this.closed) return Promise.reject(shuttingDown());
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const task: Task = { id: this.nextId++, bytes, queuedAt: performance.now(), resolve, reject, leftQueue: dropOnAbort(signal, (reason) => this.drop(task, reason)) };
      this.waiting.push(task);
      this.dispatch();
    });
  }

  /** Stops every worker; images still waiting are refused. */
  async close(): Promise<void> {
    this.closed = true;
    for (const task of this.waiting.splice(0)) {
      task.leftQueue();
      task.reject(shuttingDown());
    }
    await Promise.all([...this.slots].map((slot) => slot.worker.terminate()));
  }

  private async spawn(): Promise<void> {
    // The listeners are only called after the ready message, and the slot is set in the same turn as it.
    let slot: Slot | undefined;
    const { worker } = await startReadyWorker<{ ready: true }, Exclude<FromWorker, { ready: true }>>(
      this.options.workerUrl,
      { spec: this.options.spec } satisfies PreprocessWorkerData,
      { name: "preprocessing", onMessage: (message) => this.settle(slot!, message), onExit: (code) => this.replace(slot!, code) },
    );
    slot = { worker };
    this.slots.add(slot);
    this.dispatch();
  }

  /** Takes a task out of the queue if it is still waiting, and rejects it. */
  private drop(task: Task, reason: unknown): void {
    const at = this.waiting.indexOf(task);
    if (at === -1) return;
    this.waiting.splice(at, 1);
    task.reject(reason as ApiError);
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (slot.task) continue;
      const task = this.waiting.shift();
      if (!task) return;
      task.leftQueue();
      this.options.onWait?.(performance.now() - task.queuedAt);
      slot.task = task;
      slot.timer = setTimeout(() => this.overrun(slot), this.options.taskTimeoutMs);
      // A copy the worker owns, transferred without a second copy. Not Buffer#slice, which shares memory:
      // transferring the request's own buffer would empty it (and any Buffer sharing its pool).
      const bytes = new Uint8Array(task.bytes);
      slot.worker.postMessage({ id: task.id, bytes } satisfies ToWorker, [bytes.buffer]);
    }
  }

  private settle(slot: Slot, message: Exclude<FromWorker, { ready: true }>): void {
    const task = slot.task;
    if (!task || task.id !== message.id) return;
    this.release(slot);
    if ("error" in message) task.reject(apiErrorFromData(message.error));
    else task.resolve({ header: message.header, tensor: message.tensor });
    this.dispatch();
  }

  private release(slot: Slot): void {
    clearTimeout(slot.timer);
    slot.task = undefined;
    slot.timer = undefined;
  }

  private overrun(slot: Slot): void {
    const task = slot.task;
    if (!task) return;
    this.release(slot);
    // Out of the pool before it stops, so no image goes to a worker that will not answer; its exit replaces it.
    this.slots.delete(slot);
    logger.warn("preprocessing overran its time; replacing the worker", { timeoutMs: this.options.taskTimeoutMs });
    task.reject(new UnusableImageError(`The image took over ${this.options.taskTimeoutMs / 1000} s to decode; send an ordinary JPEG or PNG X-ray.`));
    void slot.worker.terminate();
  }

  /** A worker exited: its image, if any, is answered, and a new worker takes its place. */
  private replace(slot: Slot, exitCode: number): void {
    const task = slot.task;
    this.slots.delete(slot);
    if (task) {
      this.release(slot);
      task.reject(new InternalError("The worker preprocessing this image stopped; send it again."));
    }
    if (this.closed) return;
    logger.warn("preprocessing worker exited; starting another", { exitCode });
    this.spawn().catch((error: unknown) => {
      logger.error("could not replace a preprocessing worker", { error: error as Error });
      if (this.slots.size > 0) return;
      for (const waiting of this.waiting.splice(0)) waiting.reject(new InternalError("No preprocessing worker is left to take this image."));
    });
  }
}
