import { Duration, Stack, Validations } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as actions from "aws-cdk-lib/aws-cloudwatch-actions";
import * as sns from "aws-cdk-lib/aws-sns";
import * as subscriptions from "aws-cdk-lib/aws-sns-subscriptions";
import { Construct } from "constructs";
import { API_HOSTS } from "../lambda/core/http/api-host.js";
import { ERROR_CODES } from "../lambda/core/errors.js";
import { SERVICE_METRICS } from "../lambda/core/service-metrics.js";
import type { ClassifierApi } from "./classifier-api.js";
import type { ClassifierFunction } from "./classifier-function.js";
import { checkInteger, checkNotAbove, withDefaults } from "./construct-props.js";
import type { GpuService } from "./gpu-service.js";
import { ServiceDashboard } from "./service-dashboard.js";
import { serviceMetric } from "./service-metric.js";

/** What the monitoring watches: the function and its alias, the API, and the GPU service when it is deployed. */
export interface MonitoredResources {
  readonly classifier: Pick<ClassifierFunction, "function" | "alias">;
  readonly api: Pick<ClassifierApi, "api" | "classifyMethod" | "gpuMethod">;
  /** @default - no GPU service: its widgets and alarms are left out */
  readonly gpu?: Pick<GpuService, "service" | "targetGroup" | "minTasks">;
}

export interface ServiceMonitoringProps extends MonitoredResources {
  /** Address the alarm topic e-mails (AWS asks it to confirm first). @default - no subscription: subscribe to the topic yourself */
  readonly alarmEmail?: string;
  /** Share of the API's requests answered 5xx, in percent, in 2 of 3 minutes with 20 requests or more, that alarms. @default 5 */
  readonly api5xxPercent?: number;
  /** p99 latency of a route, in ms, in 3 consecutive 5-minute periods, that alarms. @default 5000 */
  readonly p99LatencyMs?: number;
  /** Failed Lambda answers a minute (runtime errors plus the handler's own 5xx), in 2 of 3 minutes, that alarm. @default 3 */
  readonly lambdaFailuresPerMinute?: number;
  /** Lowest expected share of PNEUMONIA answers on the classify route, in percent, over an hour. @default 50 */
  readonly pneumoniaShareMinPercent?: number;
  /** Highest expected share of PNEUMONIA answers on the classify route, in percent, over an hour. @default 90 */
  readonly pneumoniaShareMaxPercent?: number;
  /** Share of classify requests refused (4xx), in percent, over an hour, that alarms. @default 20 */
  readonly refusalPercent?: number;
  /** Classify requests an hour below which the model alarms do not judge that hour. @default 50 */
  readonly minHourlyRequests?: number;
}

/** What ServiceMonitoring builds with when a prop is left out; the README's runbook says why each value. */
export const SERVICE_MONITORING_DEFAULTS = {
  // Below the canary's default 10 %: a new version that fails every request it gets trips it.
  api5xxPercent: 5,
  // Warm answers take tens of ms; a container-image cold start a few seconds. Above that, something waits.
  p99LatencyMs: 5000,
  // The handler answers every failure itself, so a healthy function fails none; 3 keeps one retried blip quiet.
  lambdaFailuresPerMinute: 3,
  // The model answered PNEUMONIA for 65 % of the dev images and 68 % of the validation images (74 % of the
  // training images are PNEUMONIA); with 50 answers an hour, three standard deviations of that share are 0.19.
  pneumoniaShareMinPercent: 50,
  pneumoniaShareMaxPercent: 90,
  // A client sending X-rays the service reads gets few 4xx; one in five refused is a changed source or a flood.
  refusalPercent: 20,
  // Fewer answers than this make an hour's share or rate noise rather than a signal.
  minHourlyRequests: 50,
} as const;

/** What ServiceMonitoring accepts. */
export const SERVICE_MONITORING_LIMITS = {
  alarmEmail: /^[^@\s]+@[^@\s]+\.[^@\s]+$/,
  api5xxPercent: { min: 1, max: 100, unit: "%" },
  p99LatencyMs: { min: 100, max: 29_000, unit: "ms" },
  lambdaFailuresPerMinute: { min: 1, max: 10_000 },
  pneumoniaShareMinPercent: { min: 0, max: 100, unit: "%" },
  pneumoniaShareMaxPercent: { min: 0, max: 100, unit: "%" },
  refusalPercent: { min: 1, max: 100, unit: "%" },
  minHourlyRequests: { min: 1, max: 1_000_000 },
} as const;

/** Requests a minute below which the API's 5xx share is not judged: one error in fewer would be over 5 %. */
const MIN_REQUESTS_PER_MINUTE = 20;
/** Standard deviations of the gate score's anomaly band: CloudWatch's band is 2 by default; 3 is for a jump, not a wobble. */
const GATE_SCORE_STD_DEVS = 3;

/** The props with their defaults, checked; throws naming the prop, the value and the fix. */
function resolveProps(props: ServiceMonitoringProps) {
  const owner = "ServiceMonitoringProps";
  const resolved = withDefaults(props, SERVICE_MONITORING_DEFAULTS);
  if (resolved.alarmEmail !== undefined && !SERVICE_MONITORING_LIMITS.alarmEmail.test(resolved.alarmEmail)) {
    throw new Error(`${owner}.alarmEmail=${JSON.stringify(resolved.alarmEmail)} is invalid: give one e-mail address, such as ops@example.com.`);
  }
  for (const prop of ["api5xxPercent", "p99LatencyMs", "lambdaFailuresPerMinute", "pneumoniaShareMinPercent", "pneumoniaShareMaxPercent", "refusalPercent", "minHourlyRequests"] as const) {
    checkInteger(owner, prop, resolved[prop], SERVICE_MONITORING_LIMITS[prop]);
  }
  checkNotAbove(
    owner,
    { prop: "pneumoniaShareMinPercent", value: resolved.pneumoniaShareMinPercent },
    { prop: "pneumoniaShareMaxPercent", value: resolved.pneumoniaShareMaxPercent },
    "the band's low end must not be above its high end",
  );
  return resolved;
}

const MINUTE = Duration.minutes(1);
const FIVE_MINUTES = Duration.minutes(5);
const HOUR = Duration.hours(1);

/** How an alarm judges its metric: the threshold, and in how many of the last periods it must be crossed. */
interface AlarmRule {
  readonly description: string;
  readonly threshold: number;
  readonly datapoints: number;
  readonly periods: number;
  readonly comparison?: cloudwatch.ComparisonOperator;
}

/**
 * Operations for the whole service: an SNS topic (e-mailed with alarmEmail), alarms on the API, the Lambda
 * function, the GPU service and the model's answers, and a dashboard of all of it. The alarms that mean a
 * new Lambda version is failing are `rollbackAlarms`, for the canary rollout.
 */
export class ServiceMonitoring extends Construct {
  readonly topic: sns.Topic;
  /** Every alarm, by its construct id (also the end of its name). */
  readonly alarms: Readonly<Record<string, cloudwatch.Alarm>>;
  /** Alarms that roll a Lambda deployment back: the API's 5xx share and the function's failures. */
  readonly rollbackAlarms: readonly cloudwatch.IAlarm[];
  readonly dashboard: ServiceDashboard;

  constructor(scope: Construct, id: string, props: ServiceMonitoringProps) {
    super(scope, id);
    const resolved = resolveProps(props);
    const { classifier, api, gpu } = resolved;
    const stage = api.api.deploymentStage;

    this.topic = new sns.Topic(this, "AlarmTopic", { displayName: "Pneumonia classifier alarms", enforceSSL: true });
    Validations.of(this.topic).acknowledge({
      id: "AwsSolutions-SNS2",
      reason: "Alarm notifications carry alarm names, states and figures, no patient data; CloudWatch can publish to an encrypted topic only with a customer-managed KMS key.",
    });
    if (resolved.alarmEmail) this.topic.addSubscription(new subscriptions.EmailSubscription(resolved.alarmEmail));

    const alarms: Record<string, cloudwatch.Alarm> = {};
    const alarm = (alarmId: string, metric: cloudwatch.IMetric, rule: AlarmRule) => {
      alarms[alarmId] = new cloudwatch.Alarm(this, alarmId, {
        alarmName: `${Stack.of(this).stackName}-${alarmId}`,
        alarmDescription: `${rule.description} Runbook: README, section Runbook, ${alarmId}.`,
        metric,
        threshold: rule.threshold,
        evaluationPeriods: rule.periods,
        datapointsToAlarm: rule.datapoints,
        comparisonOperator: rule.comparison ?? cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    };
    const sum = (period: Duration) => ({ statistic: cloudwatch.Stats.SUM, period });
    const classifyOnLambda = { host: API_HOSTS.lambda.name, route: "classify" };
    const classifyOnBothHosts = { route: "classify" };

    alarm(
      "Api5xxRate",
      new cloudwatch.MathExpression({
        label: "5xx answers, % of the API's requests",
        expression: `IF(requests >= ${MIN_REQUESTS_PER_MINUTE}, 100 * errors / requests, 0)`,
        // By ApiName alone, not the stage: the stage depends on the alias, whose deployments depend on this alarm.
        usingMetrics: { errors: api.api.metricServerError(sum(MINUTE)), requests: api.api.metricCount(sum(MINUTE)) },
        period: MINUTE,
      }),
      {
        description: `Over ${resolved.api5xxPercent} % of the API's requests (both routes) answered 5xx in 2 of the last 3 minutes.`,
        threshold: resolved.api5xxPercent,
        datapoints: 2,
        periods: 3,
      },
    );
    alarm(
      "LambdaFailures",
      new cloudwatch.MathExpression({
        label: "Failed answers of the live alias a minute",
        expression: "FILL(errors, 0) + FILL(failed, 0)",
        usingMetrics: { errors: classifier.alias.metricErrors(sum(MINUTE)), failed: serviceMetric(SERVICE_METRICS.metrics.failed, classifyOnLambda, sum(MINUTE)) },
        period: MINUTE,
      }),
      {
        description: `The live alias failed ${resolved.lambdaFailuresPerMinute} or more answers a minute (runtime errors and the handler's own 5xx) in 2 of the last 3 minutes.`,
        threshold: resolved.lambdaFailuresPerMinute,
        comparison: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        datapoints: 2,
        periods: 3,
      },
    );
    alarm("LambdaThrottles", classifier.function.metricThrottles(sum(MINUTE)), {
      description: "The function was throttled in each of the last 5 minutes: its reserved concurrency is too low for the traffic.",
      threshold: 1,
      comparison: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      datapoints: 5,
      periods: 5,
    });
    const routes = [{ id: "ClassifyP99Latency", name: "POST /pneumonia_classifier", method: api.classifyMethod }];
    if (gpu && api.gpuMethod) routes.push({ id: "GpuP99Latency", name: "/gpu/{proxy+}", method: api.gpuMethod });
    for (const route of routes) {
      alarm(route.id, route.method.metricLatency(stage, { statistic: cloudwatch.Stats.p(99), period: FIVE_MINUTES }), {
        description: `p99 latency of ${route.name} over ${resolved.p99LatencyMs} ms in 3 consecutive 5-minute periods.`,
        threshold: resolved.p99LatencyMs,
        datapoints: 3,
        periods: 3,
      });
    }

    if (gpu) {
      // With no task kept, none healthy is the service at rest, not a fault.
      if (gpu.minTasks > 0) {
        alarm("GpuNoHealthyTask", gpu.targetGroup.metrics.healthyHostCount({ statistic: cloudwatch.Stats.MINIMUM, period: MINUTE }), {
          description: "No GPU task passed the load balancer's health check for 3 minutes: /gpu has nothing to answer it.",
          threshold: 1,
          comparison: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
          datapoints: 3,
          periods: 3,
        });
      }
      const overloaded = (route: string) =>
        serviceMetric(SERVICE_METRICS.metrics.errorAnswers, { host: API_HOSTS.batching.name, route, code: ERROR_CODES.overloaded }, sum(FIVE_MINUTES));
      alarm(
        "GpuSaturated",
        new cloudwatch.MathExpression({
          label: "GPU service answers 503 OVERLOADED",
          expression: "FILL(single, 0) + FILL(batch, 0)",
          usingMetrics: { single: overloaded("classify"), batch: overloaded("classifyBatch") },
          period: FIVE_MINUTES,
        }),
        {
          description: "The GPU service refused work with 503 OVERLOADED (its queue full) in 3 consecutive 5-minute periods, autoscaling notwithstanding.",
          threshold: 1,
          comparison: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          datapoints: 3,
          periods: 3,
        },
      );
    }

    const { pneumoniaShareMinPercent: low, pneumoniaShareMaxPercent: high, minHourlyRequests: enough } = resolved;
    const share = "100 * pneumonia / classified";
    alarm(
      "PneumoniaShare",
      new cloudwatch.MathExpression({
        label: `Points the PNEUMONIA share is outside ${low}-${high} %`,
        expression: `IF(classified >= ${enough}, MAX([${low} - ${share}, ${share} - ${high}]), 0)`,
        usingMetrics: {
          pneumonia: serviceMetric(SERVICE_METRICS.labelAnswers.PNEUMONIA, classifyOnBothHosts, sum(HOUR)),
          classified: serviceMetric(SERVICE_METRICS.metrics.classified, classifyOnBothHosts, sum(HOUR)),
        },
        period: HOUR,
      }),
      {
        description: `The share of PNEUMONIA answers on the classify route left its expected ${low}-${high} % band in 2 of the last 3 hours (hours with ${enough} answers or more).`,
        threshold: 0,
        datapoints: 2,
        periods: 3,
      },
    );
    alarm(
      "RefusalRate",
      new cloudwatch.MathExpression({
        label: "Refused classify requests, %",
        expression: `IF(requests >= ${enough}, 100 * refused / requests, 0)`,
        usingMetrics: {
          refused: serviceMetric(SERVICE_METRICS.metrics.refused, classifyOnBothHosts, sum(HOUR)),
          requests: serviceMetric(SERVICE_METRICS.metrics.requests, classifyOnBothHosts, sum(HOUR)),
        },
        period: HOUR,
      }),
      {
        description: `Over ${resolved.refusalPercent} % of classify requests were refused (4xx) in 2 of the last 3 hours (hours with ${enough} requests or more).`,
        threshold: resolved.refusalPercent,
        datapoints: 2,
        periods: 3,
      },
    );
    alarms.GateScoreDrift = new cloudwatch.AnomalyDetectionAlarm(this, "GateScoreDrift", {
      alarmName: `${Stack.of(this).stackName}-GateScoreDrift`,
      alarmDescription:
        "The median out-of-distribution gate score left its learnt band (3 standard deviations) in 2 of the last 3 hours: the inputs changed. " +
        "No data until the core has a gate. Runbook: README, section Runbook, GateScoreDrift.",
      metric: serviceMetric(SERVICE_METRICS.metrics.gateScore, classifyOnBothHosts, { statistic: cloudwatch.Stats.p(50), period: HOUR }),
      stdDevs: GATE_SCORE_STD_DEVS,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    for (const each of Object.values(alarms)) {
      each.addAlarmAction(new actions.SnsAction(this.topic));
      each.addOkAction(new actions.SnsAction(this.topic));
    }
    this.alarms = alarms;
    this.rollbackAlarms = [alarms.Api5xxRate!, alarms.LambdaFailures!];
    this.dashboard = new ServiceDashboard(this, "Dashboard", {
      resources: { classifier, api, gpu },
      alarms: Object.values(alarms),
      p99LatencyMs: resolved.p99LatencyMs,
      pneumoniaShareBand: { low, high },
    });
  }
}
