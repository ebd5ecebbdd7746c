import type { MetricUnit } from "@aws-lambda-powertools/metrics/types";
import type { RouteName } from "./http/routes.js";
import type { Label } from "./model/manifest.js";

/** A CloudWatch metric the service emits: its name and the unit it is emitted in. */
export interface MetricDefinition {
  readonly name: string;
  readonly unit: MetricUnit;
}

/**
 * The service's CloudWatch metrics: namespace, dimensions and every metric's name and unit. The emitter
 * (lambda/adapters/cloudwatch-metrics.ts) writes them and the stack's dashboard and alarms
 * (lib/service-monitoring.ts) read them from here, so the two cannot drift apart.
 *
 * A request's counts and model figures go out in three views, one EMF document each, each with Powertools'
 * `service` dimension: Route (both hosts: the model's view, which the model alarms watch), Host and Route (one
 * host), Route and ModelVersion (one model, to watch a rollout). Timings and error answers by code go out in the
 * Host and Route view only, batch figures by Host. No dimension ever takes a per-request value.
 */
export const SERVICE_METRICS = {
  /** Namespace of every metric. The stack sets it as POWERTOOLS_METRICS_NAMESPACE, which turns emission on. */
  namespace: "PneumoniaClassifier",
  /** Value of the `service` dimension Powertools puts on every metric. */
  service: "pneumonia-classifier",
  /** Routes whose requests are measured: those that classify. API Gateway's per-method metrics count the others. */
  routes: ["classify", "classifyBatch"] as const satisfies readonly RouteName[],
  dimensions: {
    service: "service",
    /** The host that answered: "lambda" or "batching" (ApiHost.name). */
    host: "Host",
    /** The route that answered, by its name in lambda/core/http/routes.ts: "classify", "classifyBatch". */
    route: "Route",
    /** The model's version from its manifest, once the process has loaded it. */
    modelVersion: "ModelVersion",
    /** Of ErrorAnswers only: the error answer's code, such as UNSUPPORTED_MEDIA_TYPE (lambda/core/errors.ts). */
    code: "Code",
  },
  metrics: {
    /** Requests to a measured route. */
    requests: { name: "Requests", unit: "Count" },
    /** Refusals: 4xx answers to a request, or to one image of a batch. */
    refused: { name: "Refused", unit: "Count" },
    /** Failures: 5xx answers to a request, or to one image of a batch. */
    failed: { name: "Failed", unit: "Count" },
    /** Images the model classified. */
    classified: { name: "Classified", unit: "Count" },
    /** Error answers by Code: each refusal's and each failure's. */
    errorAnswers: { name: "ErrorAnswers", unit: "Count" },
    /** The PNEUMONIA probability of each classified image, whatever its label: a distribution, for percentiles. */
    pneumoniaProbability: { name: "PneumoniaProbability", unit: "None" },
    /** The out-of-distribution gate's score of each image, once the core gives one. */
    gateScore: { name: "GateScore", unit: "None" },
    /** Reading the multipart form (classify route). */
    parseDuration: { name: "ParseDuration", unit: "Milliseconds" },
    /** An image's arrival to its tensor, each image; on the batching server, its wait for a worker included. */
    preprocessDuration: { name: "PreprocessDuration", unit: "Milliseconds" },
    /** An image's tensor to its answer, each image; on the batching server, its wait for a batch included. */
    inferenceDuration: { name: "InferenceDuration", unit: "Milliseconds" },
    /** A request's arrival in the core to its answer. */
    requestDuration: { name: "RequestDuration", unit: "Milliseconds" },
    /** Images in each run of the model (batching server). */
    batchSize: { name: "BatchSize", unit: "Count" },
    /** Time of each run of the model (batching server). */
    batchDuration: { name: "BatchDuration", unit: "Milliseconds" },
    /** Images waiting for a preprocessing worker or a batch, when a batch starts (batching server). */
    queuedImages: { name: "QueuedImages", unit: "Count" },
    /** Images admitted and not yet answered, when a batch starts; QUEUE_MAX_IMAGES bounds it (batching server). */
    imagesInFlight: { name: "ImagesInFlight", unit: "Count" },
    /** Powertools' own: 1 on a Lambda environment's first invocation, with dimensions service and function_name. */
    coldStart: { name: "ColdStart", unit: "Count" },
  } satisfies Record<string, MetricDefinition>,
  /** Images the model answered with each label: the prediction mix, the share of PNEUMONIA answers. */
  labelAnswers: {
    NORMAL: { name: "NormalAnswers", unit: "Count" },
    PNEUMONIA: { name: "PneumoniaAnswers", unit: "Count" },
  } satisfies Record<Label, MetricDefinition>,
} as const;

/** A route whose requests are measured. */
export type MeasuredRoute = (typeof SERVICE_METRICS.routes)[number];
