import { CfnOutput, Duration, Stack, type StackProps } from "aws-cdk-lib";
import type { Construct } from "constructs";
import { ClassifierFunction } from "./classifier-function.js";
import { ClassifierApi } from "./classifier-api.js";
import { ApiFirewall } from "./api-firewall.js";
import { GpuService } from "./gpu-service.js";
import { ServiceMonitoring } from "./service-monitoring.js";
import { CanaryRollout } from "./canary-rollout.js";
import type { StackOptions } from "./stack-options.js";

export interface PneumoniaClassifierStackProps extends StackProps {
  /** Docker build context of both images: the repository root. */
  readonly buildContext: string;
  /** Settings of the stack and its constructs, usually from context (readStackOptions). @default - every construct's defaults */
  readonly options?: StackOptions;
}

/** What the stack builds when an option is left out; the constructs keep their own defaults. */
export const PNEUMONIA_CLASSIFIER_STACK_DEFAULTS = { gpu: true } as const;

/**
 * The whole deployment: Lambda classifier, REST API with WAF, (unless gpu=false) the GPU ECS service, their
 * dashboard and alarms, and the canary rollout of each new Lambda version.
 */
export class PneumoniaClassifierStack extends Stack {
  readonly classifier: ClassifierFunction;
  readonly gpuService?: GpuService;
  readonly api: ClassifierApi;
  readonly firewall: ApiFirewall;
  readonly monitoring: ServiceMonitoring;
  readonly rollout: CanaryRollout;

  constructor(scope: Construct, id: string, props: PneumoniaClassifierStackProps) {
    super(scope, id, props);
    const { buildContext, options = {} } = props;

    const gpu = options.gpu ?? PNEUMONIA_CLASSIFIER_STACK_DEFAULTS.gpu;
    this.classifier = new ClassifierFunction(this, "Classifier", { ...options.classifier, buildContext, gpuRoute: gpu });

    if (gpu) {
      this.gpuService = new GpuService(this, "Gpu", {
        ...options.gpuService,
        buildContext,
        lambdaThrottles: this.classifier.function.metricThrottles({ period: Duration.minutes(1), statistic: "Sum" }),
      });
    }

    this.api = new ClassifierApi(this, "Api", {
      ...options.api,
      handler: this.classifier.alias,
      gpu: this.gpuService ? { loadBalancer: this.gpuService.loadBalancer, port: this.gpuService.listenerPort } : undefined,
    });
    this.firewall = new ApiFirewall(this, "Firewall", { ...options.firewall, stageArn: this.api.api.deploymentStage.stageArn });
    this.monitoring = new ServiceMonitoring(this, "Monitoring", { ...options.monitoring, classifier: this.classifier, api: this.api, gpu: this.gpuService });
    this.rollout = new CanaryRollout(this, "Rollout", { ...options.rollout, alias: this.classifier.alias, alarms: this.monitoring.rollbackAlarms });

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
    new CfnOutput(this, "DashboardUrl", {
      value: `https://console.aws.amazon.com/cloudwatch/home?region=${this.region}#dashboards:name=${this.monitoring.dashboard.dashboard.dashboardName}`,
      description: "The service's CloudWatch dashboard",
    });
    new CfnOutput(this, "AlarmTopicArn", { value: this.monitoring.topic.topicArn, description: "SNS topic of every alarm; subscribe to it, or deploy with -c alarmEmail=..." });
  }
}
