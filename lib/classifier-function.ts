import { Duration, IgnoreMode, RemovalPolicy, Validations } from "aws-cdk-lib";
import { Platform } from "aws-cdk-lib/aws-ecr-assets";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import { DEFAULT_LOG_RETENTION } from "./log-retention.js";
import { checkInteger, checkNotAbove, withDefaults } from "./construct-props.js";
import { LAMBDA_FUNCTION } from "../lambda/core/limits.js";
import { SERVICE_METRICS } from "../lambda/core/service-metrics.js";
import { GPU_ROUTE_ENV } from "../lambda/core/http/api-host.js";

export interface ClassifierFunctionProps {
  /** Docker build context: the repository root, which holds lambda/Dockerfile, the code and the model. */
  readonly buildContext: string;
  /** Memory in MB, and so CPU, from 512 to 10240. @default 1769 - one full vCPU */
  readonly memorySize?: number;
  /** Whole seconds from 3 to 29 (API Gateway stops waiting at 29 s). @default Duration.seconds(15) */
  readonly timeout?: Duration;
  /** Concurrent executions kept for this function, and its ceiling. @default 50 */
  readonly reservedConcurrency?: number;
  /** Pre-initialised environments on the `live` alias; 0 for none, never above reservedConcurrency. @default 0 */
  readonly provisionedConcurrency?: number;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Whether the API routes /gpu/ to the batching server, so the function's answers may send clients there
   * (larger images, the batch route): the stack sets it from `-c gpu`. @default true
   */
  readonly gpuRoute?: boolean;
}

/** What ClassifierFunction builds with when a prop is left out. */
export const CLASSIFIER_FUNCTION_DEFAULTS = {
  // One full vCPU; the same figure the local front reports as the function's memory (README, Lambda sizing).
  memorySize: LAMBDA_FUNCTION.memoryMb,
  timeout: Duration.seconds(15),
  reservedConcurrency: 50,
  provisionedConcurrency: 0,
  logRetention: DEFAULT_LOG_RETENTION,
  gpuRoute: true,
} as const;

/** What ClassifierFunction accepts. */
export const CLASSIFIER_FUNCTION_LIMITS = {
  memorySize: { min: 512, max: 10240, unit: "MB" },
  // API Gateway stops waiting for an integration after 29 s.
  timeoutSeconds: { min: 3, max: 29, unit: "s" },
  reservedConcurrency: { min: 1, max: 10_000 },
  provisionedConcurrency: { min: 0, max: 10_000 },
} as const;

/** The props with their defaults, checked; throws naming the prop, the value and the fix. */
function resolveProps(props: ClassifierFunctionProps): Required<ClassifierFunctionProps> {
  const owner = "ClassifierFunctionProps";
  const resolved = withDefaults(props, CLASSIFIER_FUNCTION_DEFAULTS);
  checkInteger(owner, "memorySize", resolved.memorySize, CLASSIFIER_FUNCTION_LIMITS.memorySize);
  checkInteger(owner, "timeout", resolved.timeout.toSeconds(), CLASSIFIER_FUNCTION_LIMITS.timeoutSeconds);
  checkInteger(owner, "reservedConcurrency", resolved.reservedConcurrency, CLASSIFIER_FUNCTION_LIMITS.reservedConcurrency);
  checkInteger(owner, "provisionedConcurrency", resolved.provisionedConcurrency, CLASSIFIER_FUNCTION_LIMITS.provisionedConcurrency);
  checkNotAbove(
    owner,
    { prop: "provisionedConcurrency", value: resolved.provisionedConcurrency },
    { prop: "reservedConcurrency", value: resolved.reservedConcurrency },
    "Lambda needs reserved >= provisioned; lower provisionedConcurrency or raise reservedConcurrency",
  );
  return resolved;
}

/**
 * The classifier as a container-image Lambda function (lambda/Dockerfile: Node 22, the esbuild bundle, the
 * ONNX model), with X-Ray tracing, its own log group, reserved concurrency, CloudWatch metrics from its
 * logs, and a `live` alias on the version each deploy publishes.
 */
export class ClassifierFunction extends Construct {
  readonly function: lambda.DockerImageFunction;
  /** What API Gateway invokes, so provisioned concurrency and deployments apply to one name. */
  readonly alias: lambda.Alias;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: ClassifierFunctionProps) {
    super(scope, id);
    const resolved = resolveProps(props);
    this.logGroup = new logs.LogGroup(this, "LogGroup", {
      retention: resolved.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.function = new lambda.DockerImageFunction(this, "Function", {
      description: "Chest X-ray pneumonia classifier (ONNX CNN) behind API Gateway",
      code: lambda.DockerImageCode.fromImageAsset(resolved.buildContext, {
        file: "lambda/Dockerfile",
        platform: Platform.LINUX_AMD64,
        ignoreMode: IgnoreMode.DOCKER,
      }),
      architecture: lambda.Architecture.X86_64,
      memorySize: resolved.memorySize,
      timeout: resolved.timeout,
      reservedConcurrentExecutions: resolved.reservedConcurrency,
      tracing: lambda.Tracing.ACTIVE,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      // The namespace turns the handler's CloudWatch metrics (EMF lines in its logs) on.
      environment: {
        POWERTOOLS_SERVICE_NAME: "pneumonia-classifier",
        POWERTOOLS_LOG_LEVEL: "INFO",
        POWERTOOLS_METRICS_NAMESPACE: SERVICE_METRICS.namespace,
        [GPU_ROUTE_ENV]: String(resolved.gpuRoute),
      },
    });
    Validations.of(this.function).acknowledge(
      {
        id: "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
        reason: "AWS-maintained policy that grants only CloudWatch Logs writes, which every Lambda function needs.",
      },
      {
        id: "AwsSolutions-IAM5[Resource::*]",
        reason: "X-Ray tracing: xray:PutTraceSegments and xray:PutTelemetryRecords have no resource-level permissions.",
      },
    );
    this.alias = new lambda.Alias(this, "LiveAlias", {
      aliasName: "live",
      version: this.function.currentVersion,
      provisionedConcurrentExecutions: resolved.provisionedConcurrency > 0 ? resolved.provisionedConcurrency : undefined,
    });
  }
}
