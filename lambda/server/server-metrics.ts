import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { App } from "../core/http/app.js";
import type { BatchObserver } from "./inference-batcher.js";

/** Where the queues stand now, read when metrics are scraped. */
export interface QueueProbe {
  /** Images admitted and not yet answered. */
  inFlight: () => number;
  /** Images waiting for a preprocessing worker. */
  awaitingPreprocessing: () => number;
  /** Images preprocessed and waiting for a batch. */
  awaitingInference: () => number;
}

const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The batching server's metrics in Prometheus's text format (served at /metrics): queue depths, batch sizes
 * and durations, request latency by route and status, and the process's own (CPU, memory, event-loop lag).
 */
export class ServerMetrics implements BatchObserver {
  readonly registry = new Registry();
  private readonly batchSize = new Histogram({
    name: "classifier_batch_size",
    help: "Images in each run of the model",
    buckets: [1, 2, 4, 8, 16, 32, 64],
    registers: [this.registry],
  });
  private readonly batchDuration = new Histogram({
    name: "classifier_batch_duration_seconds",
    help: "Time of each run of the model",
    buckets: SECONDS,
    registers: [this.registry],
  });
  private readonly requestDuration = new Histogram({
    name: "classifier_request_duration_seconds",
    help: "Time from a request's body being read to its answer, by route and status",
    labelNames: ["path", "status"] as const,
    buckets: SECONDS,
    registers: [this.registry],
  });
  private readonly imageStageDuration = new Histogram({
    name: "classifier_image_stage_duration_seconds",
    help: "Time an image spent in each stage, its waits included: preprocess (to its tensor), inference (to its answer)",
    labelNames: ["stage"] as const,
    buckets: SECONDS,
    registers: [this.registry],
  });
  private readonly refused = new Counter({
    name: "classifier_refused_images_total",
    help: "Images refused with 503 because the queue was full",
    registers: [this.registry],
  });

  constructor(probe: QueueProbe) {
    collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: "classifier_queue_images",
      help: "Images waiting, by stage: for a preprocessing worker, or for a batch",
      labelNames: ["stage"] as const,
      registers: [this.registry],
      collect() {
        this.set({ stage: "preprocess" }, probe.awaitingPreprocessing());
        this.set({ stage: "inference" }, probe.awaitingInference());
      },
    });
    new Gauge({
      name: "classifier_images_in_flight",
      help: "Images admitted and not yet answered (bounded by QUEUE_MAX_IMAGES)",
      registers: [this.registry],
      collect() {
        this.set(probe.inFlight());
      },
    });
  }

  onBatch(size: number, durationMs: number): void {
    this.batchSize.observe(size);
    this.batchDuration.observe(durationMs / 1000);
  }

  onImage(timingsMs: { preprocess: number; inference: number }): void {
    this.imageStageDuration.observe({ stage: "preprocess" }, timingsMs.preprocess / 1000);
    this.imageStageDuration.observe({ stage: "inference" }, timingsMs.inference / 1000);
  }

  onRefused(images: number): void {
    this.refused.inc(images);
  }

  /** The app, timing every request it answers. Paths outside the API are counted as one, so labels stay few. */
  instrument(app: App, knownPaths: ReadonlySet<string>): App {
    return async (request) => {
      const started = performance.now();
      const response = await app(request);
      const path = knownPaths.has(request.path) ? request.path : "other";
      this.requestDuration.observe({ path, status: String(response.statusCode) }, (performance.now() - started) / 1000);
      return response;
    };
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
