import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { API_HOSTS } from "../core/http/api-host.js";
import { answerOutcomes, type RequestOutcome } from "../core/http/request-outcome.js";
import { SERVER_ROUTES } from "../core/http/routes.js";
import { CloudWatchMetrics } from "../adapters/cloudwatch-metrics.js";
import type { BatchObserver } from "./inference-batcher.js";
import type { AdmissionObserver, ShedReason } from "./admission-control.js";

/** Where the queues stand now, read when metrics are scraped. */
export interface QueueProbe {
  /** Images admitted and not yet answered. */
  inFlight: () => number;
  /** Images waiting for a preprocessing worker. */
  awaitingPreprocessing: () => number;
  /** Images preprocessed and waiting for a batch. */
  awaitingInference: () => number;
  /** Requests waiting for room to be admitted, their bodies unread. */
  awaitingAdmission: () => number;
}

const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The batching server's metrics in Prometheus's text format (served at /metrics): queue depths and waits,
 * admitted and shed work, batch sizes and durations, request latency by route and status, answers by outcome,
 * and the process's own (CPU, memory, event-loop lag). Request outcomes and batches also go to CloudWatch, under the Lambda handler's metric names
 * (CloudWatchMetrics, when POWERTOOLS_METRICS_NAMESPACE is set).
 */
export class ServerMetrics implements BatchObserver, AdmissionObserver {
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
  private readonly admitted = new Counter({
    name: "classifier_admitted_images_total",
    help: "Images admitted to the queue",
    registers: [this.registry],
  });
  private readonly shed = new Counter({
    name: "classifier_shed_requests_total",
    help:
      "Requests answered 503 OVERLOADED, by reason: queue-full (QUEUE_MAX_IMAGES, or too many waiting for room), over-budget (still no room for it after waiting as long as what was left of QUEUE_MAX_WAIT_MS could still answer it), " +
      "buffer-full (MAX_BUFFERED_MB), expired (admitted, but an image was still waiting when QUEUE_MAX_WAIT_MS ran out)",
    labelNames: ["reason"] as const,
    registers: [this.registry],
  });
  private readonly queueWait = new Histogram({
    name: "classifier_queue_wait_seconds",
    help: "Time an admitted request waited for room, its body unread (admission, once a request), and each of its images for a preprocessing worker (preprocess) and for its batch to start (inference)",
    labelNames: ["stage"] as const,
    buckets: SECONDS,
    registers: [this.registry],
  });
  private readonly answers = new Counter({
    name: "classifier_answers_total",
    help: "Answers by route and outcome: each classified image's label, each error answer's code",
    labelNames: ["route", "outcome"] as const,
    registers: [this.registry],
  });

  constructor(
    private readonly probe: QueueProbe,
    private readonly cloudWatch = new CloudWatchMetrics(API_HOSTS.batching.name),
  ) {
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
      name: "classifier_requests_awaiting_admission",
      help: "Requests waiting for room within QUEUE_MAX_WAIT_MS, their bodies unread",
      registers: [this.registry],
      collect() {
        this.set(probe.awaitingAdmission());
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
    this.cloudWatch.publishBatch({
      size,
      durationMs,
      queuedImages: this.probe.awaitingPreprocessing() + this.probe.awaitingInference(),
      imagesInFlight: this.probe.inFlight(),
    });
  }

  onImage(timingsMs: { preprocess: number; inference: number }): void {
    this.imageStageDuration.observe({ stage: "preprocess" }, timingsMs.preprocess / 1000);
    this.imageStageDuration.observe({ stage: "inference" }, timingsMs.inference / 1000);
  }

  onAdmitted(images: number): void {
    this.admitted.inc(images);
  }

  onAdmissionWait(ms: number): void {
    this.queueWait.observe({ stage: "admission" }, ms / 1000);
  }

  onShed(reason: ShedReason): void {
    this.shed.inc({ reason });
  }

  onPreprocessWait(ms: number): void {
    this.queueWait.observe({ stage: "preprocess" }, ms / 1000);
  }

  onBatchWait(ms: number): void {
    this.queueWait.observe({ stage: "inference" }, ms / 1000);
  }

  /** Records an answered request (the app's RequestObserver). Requests no route took are counted as one, so labels stay few. */
  observe(outcome: RequestOutcome): void {
    const path = outcome.route ? SERVER_ROUTES[outcome.route].path : "other";
    this.requestDuration.observe({ path, status: String(outcome.status) }, outcome.timingsMs.total / 1000);
    for (const answer of answerOutcomes(outcome)) this.answers.inc({ route: outcome.route ?? "other", outcome: answer });
    this.cloudWatch.publishOutcome(outcome);
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
