import { Metrics } from "@aws-lambda-powertools/metrics";
import { SERVICE_METRICS, type MeasuredRoute, type MetricDefinition } from "../core/service-metrics.js";
import { isImageAnswer, type ErrorAnswer, type RequestOutcome } from "../core/http/request-outcome.js";
import type { RouteName } from "../core/http/routes.js";
import { LABELS } from "../core/model/manifest.js";

const { metrics: METRICS, dimensions: DIMENSIONS } = SERVICE_METRICS;

/** A run of the model on the batching server, with the queue as it stood when the run began. */
export interface BatchFigures {
  size: number;
  durationMs: number;
  /** Images waiting for a preprocessing worker or a batch. */
  queuedImages: number;
  /** Images admitted and not yet answered. */
  imagesInFlight: number;
}

type Dimensions = Record<string, string>;
type AddMetric = (metric: MetricDefinition, value: number) => void;

function isMeasured(route: RouteName | undefined): route is MeasuredRoute {
  return (SERVICE_METRICS.routes as readonly (RouteName | undefined)[]).includes(route);
}

/**
 * The service's CloudWatch metrics (lambda/core/service-metrics.ts) in the embedded metric format, written by
 * Powertools Metrics as JSON lines on stdout, from which CloudWatch Logs makes the metrics: in Lambda's log
 * group, and in the GPU tasks' through the awslogs driver, with no agent and no PutMetricData permission. Each
 * call writes its lines at once, so a Lambda invocation flushes its own and concurrent requests on the batching
 * server never share a document.
 *
 * Off unless POWERTOOLS_METRICS_NAMESPACE names the namespace, as the stack sets it on both hosts: `npm start`,
 * the tools and the tests write no EMF lines unless they set it.
 */
export class CloudWatchMetrics {
  private readonly metrics: Metrics | undefined;

  /** `host` is the Host dimension's value: the ApiHost's name. */
  constructor(private readonly host: string) {
    // The service dimension is fixed, not POWERTOOLS_SERVICE_NAME, so the dashboard and alarms always find it.
    this.metrics = process.env.POWERTOOLS_METRICS_NAMESPACE ? new Metrics({ serviceName: SERVICE_METRICS.service }) : undefined;
  }

  /** Powertools' ColdStart metric, on the first invocation of a Lambda environment that was not provisioned ahead. */
  captureColdStart(functionName: string): void {
    this.metrics?.captureColdStartMetric(functionName);
  }

  /** A request's figures, if its route is measured: counts and model figures in each view, timings, error answers by code. */
  publishOutcome(outcome: RequestOutcome): void {
    if (!this.metrics || !isMeasured(outcome.route)) return;
    const route = { [DIMENSIONS.route]: outcome.route };
    const byHost = { [DIMENSIONS.host]: this.host, ...route };
    const byModel = outcome.model && { ...route, [DIMENSIONS.modelVersion]: outcome.model.version };

    const images = outcome.images.filter(isImageAnswer);
    const errors = outcome.error ? [outcome.error] : outcome.images.filter((answer): answer is ErrorAnswer => !isImageAnswer(answer));
    const addCounts = (add: AddMetric) => {
      add(METRICS.requests, 1);
      // Zeros too, so each one's average over a route's requests is a rate.
      add(METRICS.refused, errors.filter((error) => error.status < 500).length);
      add(METRICS.failed, errors.filter((error) => error.status >= 500).length);
      add(METRICS.classified, images.length);
      for (const label of LABELS) add(SERVICE_METRICS.labelAnswers[label], images.filter((image) => image.label === label).length);
      for (const image of images) {
        add(METRICS.pneumoniaProbability, image.pneumoniaProbability);
        if (image.gateScore !== undefined) add(METRICS.gateScore, image.gateScore);
      }
    };
    // One view a document: Powertools warns on every document whose dimension sets share a key.
    this.publish(route, addCounts);
    this.publish(byHost, (add) => {
      addCounts(add);
      if (outcome.timingsMs.parse !== undefined) add(METRICS.parseDuration, outcome.timingsMs.parse);
      for (const image of images) {
        add(METRICS.preprocessDuration, image.timingsMs.preprocess);
        add(METRICS.inferenceDuration, image.timingsMs.inference);
      }
      add(METRICS.requestDuration, outcome.timingsMs.total);
    });
    if (byModel) this.publish(byModel, addCounts);
    for (const code of new Set(errors.map((error) => error.code))) {
      this.publish({ ...byHost, [DIMENSIONS.code]: code }, (add) => add(METRICS.errorAnswers, errors.filter((error) => error.code === code).length));
    }
  }

  /** A run of the model on the batching server. */
  publishBatch(batch: BatchFigures): void {
    this.publish({ [DIMENSIONS.host]: this.host }, (add) => {
      add(METRICS.batchSize, batch.size);
      add(METRICS.batchDuration, batch.durationMs);
      add(METRICS.queuedImages, batch.queuedImages);
      add(METRICS.imagesInFlight, batch.imagesInFlight);
    });
  }

  /** One EMF document: the metrics `fill` adds, under `dimensions` and `service`. */
  private publish(dimensions: Dimensions, fill: (add: AddMetric) => void): void {
    const metrics = this.metrics;
    if (!metrics) return;
    metrics.addDimensions(dimensions);
    fill((metric, value) => metrics.addMetric(metric.name, metric.unit, value));
    metrics.publishStoredMetrics();
  }
}
