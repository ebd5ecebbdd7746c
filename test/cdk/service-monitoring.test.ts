import { Capture, Match, Template } from "aws-cdk-lib/assertions";
import { afterAll, describe, expect, it } from "vitest";
import { SERVICE_METRICS } from "../../lambda/core/service-metrics.js";
import { ClassifierApi } from "../../lib/classifier-api.js";
import { ClassifierFunction } from "../../lib/classifier-function.js";
import { GpuService, type GpuServiceProps } from "../../lib/gpu-service.js";
import { ServiceMonitoring, type ServiceMonitoringProps } from "../../lib/service-monitoring.js";
import { bareStack, removeSynthesized, stubBuildContext } from "../support/synth.js";

afterAll(removeSynthesized);

type Thresholds = Omit<ServiceMonitoringProps, "classifier" | "api" | "gpu">;

/** ServiceMonitoring over the function, the API and (unless `gpu` is false) the GPU service, in a bare stack. */
function monitored(thresholds: Thresholds = {}, gpu: false | Partial<GpuServiceProps> = {}) {
  const stack = bareStack();
  const buildContext = stubBuildContext();
  const classifier = new ClassifierFunction(stack, "Classifier", { buildContext });
  const gpuService = gpu === false ? undefined : new GpuService(stack, "Gpu", { buildContext, ...gpu });
  const api = new ClassifierApi(stack, "Api", {
    handler: classifier.alias,
    gpu: gpuService && { loadBalancer: gpuService.loadBalancer, port: gpuService.listenerPort },
  });
  const monitoring = new ServiceMonitoring(stack, "Monitoring", { ...thresholds, classifier, api, gpu: gpuService });
  return { stack, monitoring, template: Template.fromStack(stack) };
}

/** The alarm named `<stack>-<name>`. */
function alarmNamed(template: Template, name: string) {
  const found = Object.values(template.findResources("AWS::CloudWatch::Alarm", { Properties: { AlarmName: `Test-${name}` } }));
  expect(found, name).toHaveLength(1);
  return found[0]!.Properties;
}

/** The metric of an alarm's math whose id is `id`. */
function metricOf(alarm: { Metrics: { Id: string; MetricStat?: { Metric: unknown; Stat: string; Period: number } }[] }, id: string) {
  return alarm.Metrics.find((metric) => metric.Id === id)?.MetricStat;
}

/** The dashboard's JSON body, CloudFormation's intrinsic functions written as "<token>". */
function dashboardBody(template: Template): { widgets: { type: string; properties: { title?: string } }[] } {
  const [dashboard] = Object.values(template.findResources("AWS::CloudWatch::Dashboard"));
  const parts: unknown[] = dashboard!.Properties.DashboardBody["Fn::Join"][1];
  return JSON.parse(parts.map((part) => (typeof part === "string" ? part : "<token>")).join(""));
}

const { metrics: METRICS, labelAnswers: LABEL_ANSWERS } = SERVICE_METRICS;
/** One of the service's own metrics as an alarm names it: CloudWatch's dimensions sorted by name, `service` among them. */
const ownMetric = (name: string, dimensions: Record<string, string>) => ({
  Namespace: SERVICE_METRICS.namespace,
  MetricName: name,
  Dimensions: Object.entries({ service: SERVICE_METRICS.service, ...dimensions })
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([Name, Value]) => ({ Name, Value })),
});

describe("ServiceMonitoring", () => {
  it("sends every alarm, and its recovery, to one SNS topic that allows only TLS", () => {
    // Act
    const { template } = monitored();

    // Assess
    template.resourceCountIs("AWS::SNS::Topic", 2); // and the GPU instances' drain hook topic
    const topic = new Capture();
    const alarms = Object.values(template.findResources("AWS::CloudWatch::Alarm", { Properties: { AlarmName: Match.stringLikeRegexp("^Test-") } }));
    expect(alarms.length).toBe(10);
    for (const alarm of alarms) {
      expect(alarm.Properties.AlarmActions).toEqual(alarm.Properties.OKActions);
      expect(alarm.Properties.AlarmDescription).toMatch(/Runbook: README, section Runbook, \w+\.$/);
    }
    template.hasResourceProperties("AWS::CloudWatch::Alarm", { AlarmName: "Test-Api5xxRate", AlarmActions: [{ Ref: topic }] });
    template.hasResourceProperties("AWS::SNS::TopicPolicy", {
      Topics: [{ Ref: topic.asString() }],
      PolicyDocument: { Statement: [Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } })] },
    });
    template.resourceCountIs("AWS::SNS::Subscription", 1); // the drain hook's own
  });

  it("e-mails the topic to alarmEmail", () => {
    // Act
    const { template } = monitored({ alarmEmail: "ops@example.com" });

    // Assess
    template.hasResourceProperties("AWS::SNS::Subscription", { Protocol: "email", Endpoint: "ops@example.com" });
  });

  it("alarms when over 5 % of the API's requests answer 5xx in 2 of 3 minutes with 20 requests or more", () => {
    // Act
    const { template } = monitored();

    // Assess
    const alarm = alarmNamed(template, "Api5xxRate");
    expect(alarm).toMatchObject({ Threshold: 5, ComparisonOperator: "GreaterThanThreshold", EvaluationPeriods: 3, DatapointsToAlarm: 2, TreatMissingData: "notBreaching" });
    expect(alarm.Metrics[0].Expression).toBe("IF(requests >= 20, 100 * errors / requests, 0)");
    expect(metricOf(alarm, "errors")).toEqual({ Metric: { Namespace: "AWS/ApiGateway", MetricName: "5XXError", Dimensions: [{ Name: "ApiName", Value: "Api" }] }, Period: 60, Stat: "Sum" });
    expect(metricOf(alarm, "requests")).toMatchObject({ Metric: { MetricName: "Count" }, Period: 60, Stat: "Sum" });
  });

  it("alarms on 3 or more failed answers a minute of the live alias: runtime errors plus the handler's own 5xx", () => {
    // Act
    const { template } = monitored();

    // Assess
    const alarm = alarmNamed(template, "LambdaFailures");
    expect(alarm).toMatchObject({ Threshold: 3, ComparisonOperator: "GreaterThanOrEqualToThreshold", EvaluationPeriods: 3, DatapointsToAlarm: 2 });
    expect(alarm.Metrics[0].Expression).toBe("FILL(errors, 0) + FILL(failed, 0)");
    const errors = metricOf(alarm, "errors");
    expect(errors).toMatchObject({ Metric: { Namespace: "AWS/Lambda", MetricName: "Errors" }, Period: 60, Stat: "Sum" });
    expect(JSON.stringify(errors)).toContain('":live"');
    expect(metricOf(alarm, "failed")).toEqual({ Metric: ownMetric(METRICS.failed.name, { Host: "lambda", Route: "classify" }), Period: 60, Stat: "Sum" });
  });

  it("alarms when the function is throttled in each of 5 minutes", () => {
    // Act
    const { template } = monitored();

    // Assess
    expect(alarmNamed(template, "LambdaThrottles")).toMatchObject({
      Namespace: "AWS/Lambda",
      MetricName: "Throttles",
      Statistic: "Sum",
      Period: 60,
      Threshold: 1,
      EvaluationPeriods: 5,
      DatapointsToAlarm: 5,
    });
  });

  it.each([
    ["by default", {}, 5000],
    ["at the threshold it is given", { p99LatencyMs: 3000 }, 3000],
  ])("alarms on each route's p99 latency %s, in 3 consecutive 5-minute periods", (_name, thresholds, threshold) => {
    // Act
    const { template } = monitored(thresholds);

    // Assess
    for (const [name, resource] of [
      ["ClassifyP99Latency", "/pneumonia_classifier"],
      ["GpuP99Latency", "/gpu/{proxy+}"],
    ]) {
      const alarm = alarmNamed(template, name!);
      expect(alarm).toMatchObject({ MetricName: "Latency", ExtendedStatistic: "p99", Period: 300, Threshold: threshold, EvaluationPeriods: 3, DatapointsToAlarm: 3 });
      expect(alarm.Dimensions).toContainEqual({ Name: "Resource", Value: resource });
    }
  });

  it("alarms when the hour's share of PNEUMONIA answers leaves its band, judged on hours with 50 answers or more", () => {
    // Act
    const { template } = monitored({ pneumoniaShareMinPercent: 20, pneumoniaShareMaxPercent: 60 });

    // Assess
    const alarm = alarmNamed(template, "PneumoniaShare");
    expect(alarm).toMatchObject({ Threshold: 0, ComparisonOperator: "GreaterThanThreshold", EvaluationPeriods: 3, DatapointsToAlarm: 2 });
    expect(alarm.Metrics[0].Expression).toBe("IF(classified >= 50, MAX([20 - 100 * pneumonia / classified, 100 * pneumonia / classified - 60]), 0)");
    expect(metricOf(alarm, "pneumonia")).toEqual({ Metric: ownMetric(LABEL_ANSWERS.PNEUMONIA.name, { Route: "classify" }), Period: 3600, Stat: "Sum" });
    expect(metricOf(alarm, "classified")).toEqual({ Metric: ownMetric(METRICS.classified.name, { Route: "classify" }), Period: 3600, Stat: "Sum" });
  });

  it("alarms when over 20 % of an hour's classify requests are refused", () => {
    // Act
    const { template } = monitored();

    // Assess
    const alarm = alarmNamed(template, "RefusalRate");
    expect(alarm).toMatchObject({ Threshold: 20, EvaluationPeriods: 3, DatapointsToAlarm: 2 });
    expect(alarm.Metrics[0].Expression).toBe("IF(requests >= 50, 100 * refused / requests, 0)");
    expect(metricOf(alarm, "refused")).toEqual({ Metric: ownMetric(METRICS.refused.name, { Route: "classify" }), Period: 3600, Stat: "Sum" });
  });

  it("alarms when the median gate score leaves the band CloudWatch's anomaly detection learns for it", () => {
    // Act
    const { template } = monitored();

    // Assess
    const alarm = alarmNamed(template, "GateScoreDrift");
    expect(alarm).toMatchObject({ ComparisonOperator: "LessThanLowerOrGreaterThanUpperThreshold", EvaluationPeriods: 3, DatapointsToAlarm: 2, TreatMissingData: "notBreaching" });
    expect(alarm.Metrics[0].Expression).toBe("ANOMALY_DETECTION_BAND(m0, 3)");
    expect(metricOf(alarm, "m0")).toEqual({ Metric: ownMetric(METRICS.gateScore.name, { Route: "classify" }), Period: 3600, Stat: "p50" });
  });

  it("alarms when no GPU task is healthy for 3 minutes, and when the GPU service refuses work as OVERLOADED for 15", () => {
    // Act
    const { template } = monitored();

    // Assess
    expect(alarmNamed(template, "GpuNoHealthyTask")).toMatchObject({
      Namespace: "AWS/NetworkELB",
      MetricName: "HealthyHostCount",
      Statistic: "Minimum",
      Threshold: 1,
      ComparisonOperator: "LessThanThreshold",
      EvaluationPeriods: 3,
    });
    const saturated = alarmNamed(template, "GpuSaturated");
    expect(saturated).toMatchObject({ Threshold: 1, EvaluationPeriods: 3, DatapointsToAlarm: 3 });
    expect(metricOf(saturated, "single")).toEqual({
      Metric: ownMetric(METRICS.errorAnswers.name, { Host: "batching", Route: "classify", Code: "OVERLOADED" }),
      Period: 300,
      Stat: "Sum",
    });
  });

  it("leaves the no-healthy-task alarm out when the GPU service may scale to no task", () => {
    // Act
    const { monitoring } = monitored({}, { minTasks: 0 });

    // Assess
    expect(Object.keys(monitoring.alarms)).not.toContain("GpuNoHealthyTask");
    expect(Object.keys(monitoring.alarms)).toContain("GpuSaturated");
  });

  it("leaves every GPU alarm and graph out without a GPU service", () => {
    // Act
    const { monitoring, template } = monitored({}, false);

    // Assess
    expect(Object.keys(monitoring.alarms).sort()).toEqual(["Api5xxRate", "ClassifyP99Latency", "GateScoreDrift", "LambdaFailures", "LambdaThrottles", "PneumoniaShare", "RefusalRate"]);
    const titles = dashboardBody(template).widgets.map((widget) => widget.properties.title ?? "");
    expect(titles.filter((title) => title.startsWith("GPU"))).toEqual([]);
  });

  it("gives the rollout the API's 5xx share and the function's failures", () => {
    // Act
    const { monitoring } = monitored();

    // Assess
    expect(monitoring.rollbackAlarms).toEqual([monitoring.alarms.Api5xxRate, monitoring.alarms.LambdaFailures]);
  });

  it("draws one dashboard: alarms, traffic, errors, latency, the model's answers, inputs, the function and the GPU service", () => {
    // Act
    const { template } = monitored();

    // Assess
    template.resourceCountIs("AWS::CloudWatch::Dashboard", 1);
    const { widgets } = dashboardBody(template);
    expect(widgets.map((widget) => widget.properties.title).filter(Boolean)).toEqual([
      "Alarms",
      "Requests by route",
      "Errors by status (the whole API)",
      "Latency by route (p50, p99)",
      "Prediction mix (classify route)",
      "PNEUMONIA probability (p10, p50, p90)",
      "Answers by model version",
      "Error answers by code",
      "Refused classify requests, %",
      "Gate score (p50, p90): no data until the core has a gate",
      "Lambda concurrency",
      "Lambda throttles, failures and cold starts",
      "Lambda stage timings (p50)",
      "GPU queue (max)",
      "GPU batch size",
      "GPU tasks",
    ]);
    const body = JSON.stringify(widgets);
    for (const name of [LABEL_ANSWERS.PNEUMONIA.name, METRICS.gateScore.name, METRICS.coldStart.name, METRICS.queuedImages.name, METRICS.batchSize.name]) expect(body).toContain(`"${name}"`);
  });

  it.each<[Thresholds, RegExp]>([
    [{ alarmEmail: "ops" }, /^ServiceMonitoringProps\.alarmEmail="ops" is invalid: give one e-mail address, such as ops@example\.com\.$/],
    [{ pneumoniaShareMinPercent: 80, pneumoniaShareMaxPercent: 40 }, /pneumoniaShareMinPercent=80 is above pneumoniaShareMaxPercent=40: the band's low end must not be above its high end/],
    [{ p99LatencyMs: 30_000 }, /^ServiceMonitoringProps\.p99LatencyMs=30000 ms is invalid: give an integer from 100 ms to 29000 ms\.$/],
    [{ pneumoniaShareMaxPercent: 101 }, /pneumoniaShareMaxPercent=101 % is invalid/],
  ])("refuses %o with a message naming the value and the fix", (thresholds, message) => {
    // Act
    const act = () => monitored(thresholds, false);

    // Assess
    expect(act).toThrowError(message);
  });
});
