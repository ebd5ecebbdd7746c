import { toApiError } from "../core/errors.js";
import type { Classification, OnnxModel } from "../core/model/onnx-model.js";
import { dropOnAbort, type QueueOptions } from "./admission-control.js";

/** When a batch runs: when it is full, or when its oldest image has waited maxWaitMs. */
export interface BatchingOptions {
  /** Images in one run of the model; 1 turns batching off. */
  maxBatchSize: number;
  /** How long the oldest image may wait for others to join its batch; 0 runs whatever is waiting as soon as the model is free. */
  maxWaitMs: number;
}

/** What the batcher reports on each run, for metrics. */
export interface BatchObserver {
  onBatch(size: number, durationMs: number): void;
  /** How long each image of a batch waited for it to start. @default - not told */
  onBatchWait?(ms: number): void;
}

interface Pending {
  tensor: Float32Array;
  explain: boolean;
  since: number;
  resolve: (result: Classification) => void;
  reject: (error: unknown) => void;
  leftQueue: () => void;
}

/**
 * Dynamic batching across concurrent requests: images from any request join the next batch, which runs
 * when full or when its oldest image has waited long enough. One batch runs at a time: the model already
 * uses every core (or the whole GPU), and the next batch fills while the current one runs.
 */
export class InferenceBatcher {
  private readonly pending: Pending[] = [];
  private running = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly model: Pick<OnnxModel, "classifyBatch">,
    private readonly options: BatchingOptions,
    private readonly observer: BatchObserver = { onBatch: () => undefined },
  ) {}

  /** Images waiting for a batch. */
  get queued(): number {
    return this.pending.length;
  }

  /**
   * The model's answer for one preprocessed image, with its class activation map when `explain` is true, from
   * whichever batch it joins; dropped if `signal` aborts first.
   */
  classify(tensor: Float32Array, { explain = false, signal }: { explain?: boolean } & QueueOptions = {}): Promise<Classification> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const item: Pending = { tensor, explain, since: performance.now(), resolve, reject, leftQueue: dropOnAbort(signal, (reason) => this.drop(item, reason)) };
      this.pending.push(item);
      this.schedule();
    });
  }

  /** Takes an image out of the queue if it has not joined a batch yet, and rejects it. */
  private drop(item: Pending, reason: unknown): void {
    const at = this.pending.indexOf(item);
    if (at === -1) return;
    this.pending.splice(at, 1);
    item.reject(reason);
  }

  private schedule(): void {
    if (this.running || this.pending.length === 0) return;
    const waited = performance.now() - this.pending[0]!.since;
    if (this.pending.length >= this.options.maxBatchSize || waited >= this.options.maxWaitMs) {
      clearTimeout(this.timer);
      this.timer = undefined;
      const batch = this.pending.splice(0, this.options.maxBatchSize);
      for (const item of batch) item.leftQueue();
      void this.run(batch);
    } else {
      this.timer ??= setTimeout(() => {
        this.timer = undefined;
        this.schedule();
      }, this.options.maxWaitMs - waited);
    }
  }

  private async run(batch: Pending[]): Promise<void> {
    this.running = true;
    const started = performance.now();
    for (const item of batch) this.observer.onBatchWait?.(started - item.since);
    try {
      const results = await this.model.classifyBatch(
        batch.map((item) => item.tensor),
        batch.map((item) => item.explain),
      );
      batch.forEach((item, i) => item.resolve(results[i]!));
    } catch (error) {
      const failure = toApiError(error);
      for (const item of batch) item.reject(failure);
    } finally {
      this.observer.onBatch(batch.length, performance.now() - started);
      this.running = false;
      this.schedule();
    }
  }
}
