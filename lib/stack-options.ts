import { Duration } from "aws-cdk-lib";
import type * as logs from "aws-cdk-lib/aws-logs";
import type { ApiFirewallProps } from "./api-firewall.js";
import type { CanaryRolloutProps } from "./canary-rollout.js";
import { AUTH_MODES, type AuthMode, type ClassifierApiProps } from "./classifier-api.js";
import type { ClassifierFunctionProps } from "./classifier-function.js";
import type { GpuServiceProps } from "./gpu-service.js";
import { LOG_RETENTION_DAYS } from "./log-retention.js";
import type { MonitoredResources, ServiceMonitoringProps } from "./service-monitoring.js";

/**
 * Deployment options read from CDK context (`cdk deploy -c gpu=false -c lambdaMemoryMb=2048`; the README's table
 * lists every key), as the props of the constructs they set. A key left out leaves its prop out, so the
 * construct's own default applies; ranges and rules between props are the constructs' to check.
 */
export interface StackOptions {
  /** Deploy the GPU ECS throughput service and its /gpu route (-c gpu). @default true */
  readonly gpu?: boolean;
  /** -c lambdaMemoryMb, lambdaTimeoutSeconds, reservedConcurrency, provisionedConcurrency, logRetentionDays. */
  readonly classifier?: Omit<ClassifierFunctionProps, "buildContext">;
  /** -c gpuInstanceType, gpuMinTasks, gpuMaxTasks, gpuBatchMaxSize, gpuBatchMaxWaitMs, logRetentionDays. */
  readonly gpuService?: Omit<GpuServiceProps, "buildContext" | "lambdaThrottles">;
  /** -c authMode, stageRateLimit, stageBurstLimit, lambdaRouteRateLimit, gpuRouteRateLimit, dailyQuota, logRetentionDays. */
  readonly api?: Omit<ClassifierApiProps, "handler" | "gpu">;
  /** -c wafRateLimitPer5Min. */
  readonly firewall?: Omit<ApiFirewallProps, "stageArn">;
  /** -c alarmEmail, p99LatencyMs, pneumoniaShareMinPercent, pneumoniaShareMaxPercent. */
  readonly monitoring?: Omit<ServiceMonitoringProps, keyof MonitoredResources>;
  /** -c canaryPercent, canaryMinutes. */
  readonly rollout?: Omit<CanaryRolloutProps, "alias" | "alarms">;
}

/** Reads one context value; usually `app.node.tryGetContext`. */
type ContextReader = (key: string) => unknown;

function readInteger(read: ContextReader, key: string): number | undefined {
  const raw = read(key);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value)) throw new Error(`Context ${key}=${JSON.stringify(raw)} is invalid: give an integer.`);
  return value;
}

function readBoolean(read: ContextReader, key: string): boolean | undefined {
  const raw = read(key);
  if (raw === undefined) return undefined;
  if (raw === true || raw === "true") return true;
  if (raw === false || raw === "false") return false;
  throw new Error(`Context ${key}=${JSON.stringify(raw)} is invalid: give true or false.`);
}

function readOneOf<T extends string>(read: ContextReader, key: string, allowed: readonly T[]): T | undefined {
  const raw = read(key);
  if (raw === undefined) return undefined;
  if (!allowed.includes(raw as T)) throw new Error(`Context ${key}=${JSON.stringify(raw)} is invalid: give one of ${allowed.join(", ")}.`);
  return raw as T;
}

function readLogRetention(read: ContextReader, key: string): logs.RetentionDays | undefined {
  const days = readInteger(read, key);
  if (days === undefined) return undefined;
  if (!LOG_RETENTION_DAYS.includes(days)) throw new Error(`Context ${key}=${days} is invalid: CloudWatch accepts ${LOG_RETENTION_DAYS.join(", ")}.`);
  return days;
}

function readString(read: ContextReader, key: string): string | undefined {
  const raw = read(key);
  return raw === undefined ? undefined : String(raw);
}

/** Parses every context key into the prop it sets; throws naming the key, the value and the fix. */
export function readStackOptions(read: ContextReader): StackOptions {
  const lambdaTimeoutSeconds = readInteger(read, "lambdaTimeoutSeconds");
  const logRetention = readLogRetention(read, "logRetentionDays");
  return {
    gpu: readBoolean(read, "gpu"),
    classifier: {
      memorySize: readInteger(read, "lambdaMemoryMb"),
      timeout: lambdaTimeoutSeconds === undefined ? undefined : Duration.seconds(lambdaTimeoutSeconds),
      reservedConcurrency: readInteger(read, "reservedConcurrency"),
      provisionedConcurrency: readInteger(read, "provisionedConcurrency"),
      logRetention,
    },
    gpuService: {
      instanceType: readString(read, "gpuInstanceType"),
      minTasks: readInteger(read, "gpuMinTasks"),
      maxTasks: readInteger(read, "gpuMaxTasks"),
      batchMaxSize: readInteger(read, "gpuBatchMaxSize"),
      batchMaxWaitMs: readInteger(read, "gpuBatchMaxWaitMs"),
      logRetention,
    },
    api: {
      authMode: readOneOf<AuthMode>(read, "authMode", AUTH_MODES),
      stageRateLimit: readInteger(read, "stageRateLimit"),
      stageBurstLimit: readInteger(read, "stageBurstLimit"),
      lambdaRouteRateLimit: readInteger(read, "lambdaRouteRateLimit"),
      gpuRouteRateLimit: readInteger(read, "gpuRouteRateLimit"),
      dailyQuota: readInteger(read, "dailyQuota"),
      logRetention,
    },
    firewall: { rateLimitPer5Min: readInteger(read, "wafRateLimitPer5Min") },
    monitoring: {
      alarmEmail: readString(read, "alarmEmail"),
      p99LatencyMs: readInteger(read, "p99LatencyMs"),
      pneumoniaShareMinPercent: readInteger(read, "pneumoniaShareMinPercent"),
      pneumoniaShareMaxPercent: readInteger(read, "pneumoniaShareMaxPercent"),
    },
    rollout: { canaryPercent: readInteger(read, "canaryPercent"), canaryMinutes: readInteger(read, "canaryMinutes") },
  };
}
