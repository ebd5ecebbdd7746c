import { CfnOutput, Duration, Stack, type StackProps } from "aws-cdk-lib";
import * as logs from "aws-cdk-lib/aws-logs";
import type { Construct } from "constructs";
import { ClassifierFunction } from "./classifier-function.js";
import { ClassifierApi } from "./classifier-api.js";
import { ApiFirewall } from "./api-firewall.js";
import { GpuService } from "./gpu-service.js";
import type { StackOptions } from "./stack-options.js";

export interface PneumoniaClassifierStackProps extends StackProps {
  readonly options: StackOptions;
  /** Docker build context of both images: the repository root. */
  readonly buildContext: string;
}

/** The whole deployment: Lambda classifier, REST API with WAF, and (unless gpu=false) the GPU ECS service. */
export class PneumoniaClassifierStack extends Stack {
  readonly classifier: ClassifierFunction;
  readonly gpuService?: GpuService;
  readonly api: ClassifierApi;

  constructor(scope: Construct, id: string, props: PneumoniaClassifierStackProps) {
    super(scope, id, props);
    const { options } = props;
    const logRetention = options.logRetentionDays as logs.RetentionDays;

    this.classifier = new ClassifierFunction(this, "Classifier", {
      buildContext: props.buildContext,
      memorySize: options.lambdaMemoryMb,
      timeout: Duration.seconds(options.lambdaTimeoutSeconds),
      reservedConcurrency: options.reservedConcurrency,
      provisionedConcurrency: options.provisionedConcurrency,
      logRetention,
    });

    if (options.gpu) {
      this.gpuService = new GpuService(this, "Gpu", {
        buildContext: props.buildContext,
        instanceType: options.gpuInstanceType,
        minTasks: options.gpuMinTasks,
        maxTasks: options.gpuMaxTasks,
        batchMaxSize: options.gpuBatchMaxSize,
        batchMaxWaitMs: options.gpuBatchMaxWaitMs,
        lambdaThrottles: this.classifier.function.metricThrottles({ period: Duration.minutes(1), statistic: "Sum" }),
        logRetention,
      });
    }

    this.api = new ClassifierApi(this, "Api", {
      handler: this.classifier.alias,
      gpu: this.gpuService ? { loadBalancer: this.gpuService.loadBalancer, port: this.gpuService.listenerPort } : undefined,
      authMode: options.authMode,
      stageRateLimit: options.stageRateLimit,
      stageBurstLimit: options.stageBurstLimit,
      lambdaRouteRateLimit: options.lambdaRouteRateLimit,
      gpuRouteRateLimit: options.gpuRouteRateLimit,
      dailyQuota: options.dailyQuota,
      logRetention,
    });
    new ApiFirewall(this, "Firewall", { stageArn: this.api.api.deploymentStage.stageArn, rateLimitPer5Min: options.wafRateLimitPer5Min });

    const url = this.api.api.url.replace(/\/$/, "");
    new CfnOutput(this, "ApiUrl", { value: url, description: "Base URL; POST $ApiUrl/pneumonia_classifier" });
    new CfnOutput(this, "ClassifierUrl", { value: `${url}/pneumonia_classifier`, description: "The article's route, on Lambda" });
    if (this.api.apiKey) {
      new CfnOutput(this, "ApiKeyId", { value: this.api.apiKey.keyId, description: "Id of the API key" });
      new CfnOutput(this, "ApiKeyValueCommand", {
        value: `aws apigateway get-api-key --api-key ${this.api.apiKey.keyId} --include-value --query value --output text`,
        description: "Prints the API key to send as x-api-key",
      });
    }
    if (this.gpuService) {
      new CfnOutput(this, "GpuClassifierUrl", { value: `${url}/gpu/pneumonia_classifier`, description: "Same contract, on the GPU service" });
    }
  }
}
