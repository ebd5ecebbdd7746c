import { Duration, RemovalPolicy } from "aws-cdk-lib";
import { Platform } from "aws-cdk-lib/aws-ecr-assets";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as logs from "aws-cdk-lib/aws-logs";
import { IgnoreMode, Validations } from "aws-cdk-lib";
import { Construct } from "constructs";

export interface ClassifierFunctionProps {
  /** Docker build context: the repository root, which holds lambda/Dockerfile, the code and the model. */
  readonly buildContext: string;
  /** @default 1769 - one full vCPU */
  readonly memorySize?: number;
  /** @default Duration.seconds(15) */
  readonly timeout?: Duration;
  /** Concurrent executions kept for this function, and its ceiling. @default 50 */
  readonly reservedConcurrency?: number;
  /** Pre-initialised environments on the `live` alias; 0 for none. @default 0 */
  readonly provisionedConcurrency?: number;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * The classifier as a container-image Lambda function (lambda/Dockerfile: Node 22, the esbuild bundle, the
 * ONNX model), with X-Ray tracing, its own log group, reserved concurrency and a `live` alias.
 */
export class ClassifierFunction extends Construct {
  readonly function: lambda.DockerImageFunction;
  /** What API Gateway invokes, so provisioned concurrency and deployments apply to one name. */
  readonly alias: lambda.Alias;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: ClassifierFunctionProps) {
    super(scope, id);
    const reserved = props.reservedConcurrency ?? 50;
    const provisioned = props.provisionedConcurrency ?? 0;
    if (provisioned > reserved) {
      throw new Error(`provisionedConcurrency ${provisioned} is above reservedConcurrency ${reserved}; Lambda needs reserved >= provisioned.`);
    }
    this.logGroup = new logs.LogGroup(this, "LogGroup", {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.function = new lambda.DockerImageFunction(this, "Function", {
      description: "Chest X-ray pneumonia classifier (ONNX CNN) behind API Gateway",
      code: lambda.DockerImageCode.fromImageAsset(props.buildContext, {
        file: "lambda/Dockerfile",
        platform: Platform.LINUX_AMD64,
        ignoreMode: IgnoreMode.DOCKER,
      }),
      architecture: lambda.Architecture.X86_64,
      memorySize: props.memorySize ?? 1769,
      timeout: props.timeout ?? Duration.seconds(15),
      reservedConcurrentExecutions: reserved,
      tracing: lambda.Tracing.ACTIVE,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      environment: { POWERTOOLS_SERVICE_NAME: "pneumonia-classifier", POWERTOOLS_LOG_LEVEL: "INFO" },
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
      provisionedConcurrentExecutions: provisioned > 0 ? provisioned : undefined,
    });
  }
}
