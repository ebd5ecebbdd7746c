import { SERVER_SETTINGS } from "../lambda/server/server-config.js";

/**
 * Deployment options, read from CDK context (`cdk deploy -c gpu=false -c lambdaMemoryMb=2048`), with the
 * defaults the README's table documents. Validated first, with messages that name the value and the fix.
 */
export const AUTH_MODES = ["apiKey", "iam", "none"] as const;
export type AuthMode = (typeof AUTH_MODES)[number];

export interface StackOptions {
  /** Deploy the GPU ECS throughput service and its /gpu route. */
  gpu: boolean;
  gpuInstanceType: string;
  gpuMinTasks: number;
  gpuMaxTasks: number;
  /** The batching server's BATCH_MAX_SIZE and BATCH_MAX_WAIT_MS on the GPU tasks. */
  gpuBatchMaxSize: number;
  gpuBatchMaxWaitMs: number;
  lambdaMemoryMb: number;
  lambdaTimeoutSeconds: number;
  reservedConcurrency: number;
  provisionedConcurrency: number;
  authMode: AuthMode;
  /** Requests per second and burst for the whole stage. */
  stageRateLimit: number;
  stageBurstLimit: number;
  /** Per-method limits in the usage plan, kept apart so a client throttled on the Lambda route can fall back. */
  lambdaRouteRateLimit: number;
  gpuRouteRateLimit: number;
  /** Requests a day for one API key. */
  dailyQuota: number;
  /** Requests from one IP address in 5 minutes before WAF blocks it. */
  wafRateLimitPer5Min: number;
  logRetentionDays: number;
}

export const DEFAULT_OPTIONS: StackOptions = {
  gpu: true,
  gpuInstanceType: "g4dn.xlarge",
  gpuMinTasks: 1,
  gpuMaxTasks: 4,
  gpuBatchMaxSize: SERVER_SETTINGS.maxBatchSize.default(),
  gpuBatchMaxWaitMs: SERVER_SETTINGS.maxWaitMs.default(),
  // One full vCPU (Lambda gives 1 vCPU at 1769 MB); see the README's sizing note.
  lambdaMemoryMb: 1769,
  lambdaTimeoutSeconds: 15,
  reservedConcurrency: 50,
  provisionedConcurrency: 0,
  authMode: "apiKey",
  stageRateLimit: 100,
  stageBurstLimit: 200,
  lambdaRouteRateLimit: 50,
  gpuRouteRateLimit: 100,
  dailyQuota: 100_000,
  wafRateLimitPer5Min: 2000,
  logRetentionDays: 30,
};

/** Retention periods CloudWatch Logs accepts. */
const LOG_RETENTION_DAYS: readonly number[] = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

type ContextReader = (key: string) => unknown;

function readNumber(read: ContextReader, key: keyof StackOptions, min: number, max: number): number {
  const raw = read(key);
  if (raw === undefined) return DEFAULT_OPTIONS[key] as number;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`Context ${key}=${JSON.stringify(raw)} is invalid: give an integer from ${min} to ${max} (-c ${key}=${DEFAULT_OPTIONS[key]}).`);
  }
  return value;
}

function readBoolean(read: ContextReader, key: keyof StackOptions): boolean {
  const raw = read(key);
  if (raw === undefined) return DEFAULT_OPTIONS[key] as boolean;
  if (raw === true || raw === "true") return true;
  if (raw === false || raw === "false") return false;
  throw new Error(`Context ${key}=${JSON.stringify(raw)} is invalid: give true or false.`);
}

/** Reads and validates every option; `read` is usually `app.node.tryGetContext`. */
export function readStackOptions(read: ContextReader): StackOptions {
  const authMode = read("authMode") ?? DEFAULT_OPTIONS.authMode;
  if (!AUTH_MODES.includes(authMode as AuthMode)) {
    throw new Error(`Context authMode=${JSON.stringify(authMode)} is invalid: give one of ${AUTH_MODES.join(", ")}.`);
  }
  const gpuInstanceType = String(read("gpuInstanceType") ?? DEFAULT_OPTIONS.gpuInstanceType);
  if (!/^[a-z][a-z0-9-]*\.[a-z0-9]+$/.test(gpuInstanceType)) {
    throw new Error(`Context gpuInstanceType=${JSON.stringify(gpuInstanceType)} is invalid: give an EC2 type such as g4dn.xlarge.`);
  }
  const options: StackOptions = {
    gpu: readBoolean(read, "gpu"),
    gpuInstanceType,
    gpuMinTasks: readNumber(read, "gpuMinTasks", 0, 100),
    gpuMaxTasks: readNumber(read, "gpuMaxTasks", 1, 100),
    gpuBatchMaxSize: readNumber(read, "gpuBatchMaxSize", SERVER_SETTINGS.maxBatchSize.min, SERVER_SETTINGS.maxBatchSize.max),
    gpuBatchMaxWaitMs: readNumber(read, "gpuBatchMaxWaitMs", SERVER_SETTINGS.maxWaitMs.min, SERVER_SETTINGS.maxWaitMs.max),
    lambdaMemoryMb: readNumber(read, "lambdaMemoryMb", 512, 10240),
    lambdaTimeoutSeconds: readNumber(read, "lambdaTimeoutSeconds", 3, 29),
    reservedConcurrency: readNumber(read, "reservedConcurrency", 1, 10000),
    provisionedConcurrency: readNumber(read, "provisionedConcurrency", 0, 10000),
    authMode: authMode as AuthMode,
    stageRateLimit: readNumber(read, "stageRateLimit", 1, 10000),
    stageBurstLimit: readNumber(read, "stageBurstLimit", 1, 5000),
    lambdaRouteRateLimit: readNumber(read, "lambdaRouteRateLimit", 1, 10000),
    gpuRouteRateLimit: readNumber(read, "gpuRouteRateLimit", 1, 10000),
    dailyQuota: readNumber(read, "dailyQuota", 1, 100_000_000),
    wafRateLimitPer5Min: readNumber(read, "wafRateLimitPer5Min", 100, 2_000_000_000),
    logRetentionDays: readNumber(read, "logRetentionDays", 1, 3653),
  };
  if (!LOG_RETENTION_DAYS.includes(options.logRetentionDays)) {
    throw new Error(`Context logRetentionDays=${options.logRetentionDays} is invalid: CloudWatch accepts ${LOG_RETENTION_DAYS.join(", ")}.`);
  }
  if (options.gpuMinTasks > options.gpuMaxTasks) {
    throw new Error(`Context gpuMinTasks=${options.gpuMinTasks} is above gpuMaxTasks=${options.gpuMaxTasks}: lower the minimum or raise the maximum.`);
  }
  if (options.provisionedConcurrency > options.reservedConcurrency) {
    throw new Error(`Context provisionedConcurrency=${options.provisionedConcurrency} is above reservedConcurrency=${options.reservedConcurrency}: Lambda needs reserved >= provisioned.`);
  }
  return options;
}
