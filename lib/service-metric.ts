import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import { SERVICE_METRICS, type MetricDefinition } from "../lambda/core/service-metrics.js";

/** A view of the service's metrics: the dimensions besides `service`, by their key in SERVICE_METRICS.dimensions. */
export type ServiceMetricView = Partial<Record<Exclude<keyof typeof SERVICE_METRICS.dimensions, "service">, string>>;

/**
 * One of the metrics the classifier itself emits (lambda/core/service-metrics.ts), in one view: its namespace,
 * name and `service` dimension from the module the emitter writes them with, so the two cannot drift apart.
 */
export function serviceMetric(metric: MetricDefinition, view: ServiceMetricView, options: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
  const { dimensions } = SERVICE_METRICS;
  const dimensionsMap: Record<string, string> = { [dimensions.service]: SERVICE_METRICS.service };
  for (const [key, value] of Object.entries(view) as [keyof ServiceMetricView, string][]) dimensionsMap[dimensions[key]] = value;
  return new cloudwatch.Metric({ namespace: SERVICE_METRICS.namespace, metricName: metric.name, dimensionsMap, ...options });
}
