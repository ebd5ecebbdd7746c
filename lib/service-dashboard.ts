import { Duration } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import { Construct } from "constructs";
import { API_HOSTS } from "../lambda/core/http/api-host.js";
import { SERVICE_METRICS, type MeasuredRoute } from "../lambda/core/service-metrics.js";
import type { MonitoredResources } from "./service-monitoring.js";
import { serviceMetric } from "./service-metric.js";

export interface ServiceDashboardProps {
  readonly resources: MonitoredResources;
  /** Alarms whose states the dashboard's first row shows. */
  readonly alarms: readonly cloudwatch.IAlarm[];
  /** Drawn on the latency graph: the p99 latency alarm's threshold, in ms. */
  readonly p99LatencyMs: number;
  /** Drawn on the prediction mix: the expected band of the PNEUMONIA share, in percent. */
  readonly pneumoniaShareBand: { readonly low: number; readonly high: number };
}

/** Every graph's period: fine enough to see a 5-minute canary, coarse enough to read a day. */
const PERIOD = Duration.minutes(5);
const { metrics: METRICS, labelAnswers: LABEL_ANSWERS, dimensions: DIMENSIONS, namespace: NAMESPACE } = SERVICE_METRICS;
const CLASSIFY: MeasuredRoute = "classify";

const sum = { statistic: cloudwatch.Stats.SUM, period: PERIOD };
const graph = (title: string, left: cloudwatch.IMetric[], options: Partial<cloudwatch.GraphWidgetProps> = {}) =>
  new cloudwatch.GraphWidget({ title, left, width: 8, height: 6, ...options });

/** A dynamic label: each series' value of the dimension. */
const dimensionLabel = (dimension: string) => `\${PROP('Dim.${dimension}')}`;

/** Every series of `metricName` in the view whose dimensions (after `service`) are `view`, one line per value. */
function searchAll(metricName: string, view: string[], statistic: string, label: string): cloudwatch.MathExpression {
  const schema = [NAMESPACE, DIMENSIONS.service, ...view].join(",");
  return new cloudwatch.MathExpression({
    expression: `SEARCH('{${schema}} MetricName="${metricName}" ${DIMENSIONS.service}="${SERVICE_METRICS.service}"', '${statistic}', ${PERIOD.toSeconds()})`,
    label,
    period: PERIOD,
  });
}

/**
 * One CloudWatch dashboard for the service: alarm states; traffic, errors and latency by route; the model's
 * answers (prediction mix, PNEUMONIA probability, answers by model version, to watch a rollout); inputs
 * (error answers by code, refusal rate, the gate score); the Lambda function; the GPU service when deployed.
 */
export class ServiceDashboard extends Construct {
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: ServiceDashboardProps) {
    super(scope, id);
    const { classifier, api, gpu } = props.resources;
    const stage = api.api.deploymentStage;
    const routes = [{ name: "Lambda", method: api.classifyMethod }, ...(gpu && api.gpuMethod ? [{ name: "GPU", method: api.gpuMethod }] : [])];
    const classifyOnBothHosts = { route: CLASSIFY };
    const onLambda = { host: API_HOSTS.lambda.name, route: CLASSIFY };
    const { low, high } = props.pneumoniaShareBand;

    this.dashboard = new cloudwatch.Dashboard(this, "Dashboard", { defaultInterval: Duration.hours(3) });
    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown:
          "# Pneumonia classifier\nEach alarm's meaning and what to do: README, **Runbook**. The model's own figures come from the " +
          `handler and the GPU service (namespace \`${NAMESPACE}\`); the gate score shows no data until the core has a gate.`,
        width: 8,
        height: 4,
      }),
      new cloudwatch.AlarmStatusWidget({ title: "Alarms", alarms: [...props.alarms], width: 16, height: 4 }),
    );
    this.dashboard.addWidgets(
      graph(
        "Requests by route",
        routes.map(({ name, method }) => method.metricCount(stage, { ...sum, label: name })),
      ),
      graph("Errors by status (the whole API)", [stage.metricClientError({ ...sum, label: "4xx" }), stage.metricServerError({ ...sum, label: "5xx" })]),
      graph(
        "Latency by route (p50, p99)",
        routes.flatMap(({ name, method }) => ["p50", "p99"].map((statistic) => method.metricLatency(stage, { statistic, period: PERIOD, label: `${name} ${statistic}` }))),
        { leftAnnotations: [{ value: props.p99LatencyMs, label: "p99 alarm" }] },
      ),
    );
    const pneumonia = serviceMetric(LABEL_ANSWERS.PNEUMONIA, classifyOnBothHosts, { ...sum, label: "PNEUMONIA" });
    const normal = serviceMetric(LABEL_ANSWERS.NORMAL, classifyOnBothHosts, { ...sum, label: "NORMAL" });
    this.dashboard.addWidgets(
      graph("Prediction mix (classify route)", [normal, pneumonia], {
        stacked: true,
        right: [
          new cloudwatch.MathExpression({
            expression: "100 * pneumonia / (pneumonia + normal)",
            usingMetrics: { pneumonia, normal },
            label: "PNEUMONIA %",
            period: PERIOD,
          }),
        ],
        rightYAxis: { min: 0, max: 100 },
        rightAnnotations: [
          { value: low, label: "expected band" },
          { value: high, label: "expected band" },
        ],
      }),
      graph(
        "PNEUMONIA probability (p10, p50, p90)",
        ["p10", "p50", "p90"].map((statistic) => serviceMetric(METRICS.pneumoniaProbability, classifyOnBothHosts, { statistic, period: PERIOD, label: statistic })),
        { leftYAxis: { min: 0, max: 1 } },
      ),
      graph("Answers by model version", [
        ...[LABEL_ANSWERS.PNEUMONIA, LABEL_ANSWERS.NORMAL].map((metric) =>
          searchAll(metric.name, [DIMENSIONS.route, DIMENSIONS.modelVersion], "Sum", `${metric.name} ${dimensionLabel(DIMENSIONS.modelVersion)} ${dimensionLabel(DIMENSIONS.route)}`),
        ),
      ]),
    );
    this.dashboard.addWidgets(
      graph("Error answers by code", [
        searchAll(METRICS.errorAnswers.name, [DIMENSIONS.host, DIMENSIONS.route, DIMENSIONS.code], "Sum", `${dimensionLabel(DIMENSIONS.code)} (${dimensionLabel(DIMENSIONS.host)})`),
      ]),
      graph("Refused classify requests, %", [
        new cloudwatch.MathExpression({
          expression: "100 * refused / requests",
          usingMetrics: {
            refused: serviceMetric(METRICS.refused, classifyOnBothHosts, sum),
            requests: serviceMetric(METRICS.requests, classifyOnBothHosts, sum),
          },
          label: "refused %",
          period: PERIOD,
        }),
      ]),
      graph(
        "Gate score (p50, p90): no data until the core has a gate",
        ["p50", "p90"].map((statistic) => serviceMetric(METRICS.gateScore, classifyOnBothHosts, { statistic, period: PERIOD, label: statistic })),
      ),
    );
    this.dashboard.addWidgets(
      graph("Lambda concurrency", [classifier.function.metric("ConcurrentExecutions", { statistic: cloudwatch.Stats.MAXIMUM, period: PERIOD, label: "concurrent executions" })]),
      graph("Lambda throttles, failures and cold starts", [
        classifier.function.metricThrottles({ ...sum, label: "throttles" }),
        classifier.alias.metricErrors({ ...sum, label: "runtime errors (live)" }),
        serviceMetric(METRICS.failed, onLambda, { ...sum, label: "5xx answered" }),
        new cloudwatch.Metric({
          namespace: NAMESPACE,
          metricName: METRICS.coldStart.name,
          // Powertools' own dimensions for its cold-start metric.
          dimensionsMap: { [DIMENSIONS.service]: SERVICE_METRICS.service, function_name: classifier.function.functionName },
          ...sum,
          label: "cold starts",
        }),
      ]),
      graph(
        "Lambda stage timings (p50)",
        [METRICS.parseDuration, METRICS.preprocessDuration, METRICS.inferenceDuration, METRICS.requestDuration].map((metric) =>
          serviceMetric(metric, onLambda, { statistic: "p50", period: PERIOD, label: metric.name }),
        ),
      ),
    );
    if (gpu) {
      const batching = { host: API_HOSTS.batching.name };
      this.dashboard.addWidgets(
        graph("GPU queue (max)", [
          serviceMetric(METRICS.queuedImages, batching, { statistic: cloudwatch.Stats.MAXIMUM, period: PERIOD, label: "images waiting" }),
          serviceMetric(METRICS.imagesInFlight, batching, { statistic: cloudwatch.Stats.MAXIMUM, period: PERIOD, label: "images in flight" }),
        ]),
        graph("GPU batch size", ["Average", "p90"].map((statistic) => serviceMetric(METRICS.batchSize, batching, { statistic, period: PERIOD, label: statistic }))),
        graph("GPU tasks", [
          gpu.targetGroup.metrics.healthyHostCount({ statistic: cloudwatch.Stats.MINIMUM, period: PERIOD, label: "healthy" }),
          gpu.targetGroup.metrics.unHealthyHostCount({ statistic: cloudwatch.Stats.MAXIMUM, period: PERIOD, label: "unhealthy" }),
        ], { right: [gpu.service.metricCpuUtilization({ period: PERIOD, label: "CPU %" })] }),
      );
    }
  }
}
