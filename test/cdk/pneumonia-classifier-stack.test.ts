import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { Match } from "aws-cdk-lib/assertions";
import { synthesize, synthesizeBothStacks, type Synthesized } from "../support/synth.js";
import { cfnLint } from "../support/python-tools.js";
import { API_ROUTES } from "../../lambda/core/http/routes.js";
import { SERVICE_METRICS } from "../../lambda/core/service-metrics.js";

const run = promisify(execFile);
const stacks = synthesizeBothStacks();

/** cfn-lint's exit code is a bit set: 2 errors, 4 warnings, 8 informational. */
async function cfnLintErrors(templatePath: string): Promise<string> {
  try {
    await run(cfnLint(), ["--format", "parseable", templatePath]);
    return "";
  } catch (error) {
    const { code, stdout } = error as { code: number; stdout: string };
    if (typeof code !== "number") throw error;
    return code & 2 ? stdout.split("\n").filter((line) => /:E\d{4}:/.test(line)).join("\n") : "";
  }
}

/** The logical ID of the only resource of `type` in `synthesized` that matches `properties`. */
function onlyId(synthesized: Synthesized, type: string, properties: Record<string, unknown> = {}): string {
  const ids = Object.keys(synthesized.template.findResources(type, { Properties: properties }));
  expect(ids, type).toHaveLength(1);
  return ids[0]!;
}

/** A path's resource as methods name it, found part by part from the API's root (/gpu/ has parts of the same names). */
function resourceOfPath(synthesized: Synthesized, path: string): object {
  let resource: object = { "Fn::GetAtt": [onlyId(synthesized, "AWS::ApiGateway::RestApi"), "RootResourceId"] };
  for (const part of path.split("/").filter(Boolean)) {
    resource = { Ref: onlyId(synthesized, "AWS::ApiGateway::Resource", { PathPart: part, ParentId: resource }) };
  }
  return resource;
}

describe("PneumoniaClassifierStack", () => {
  it("synthesizes offline with every cdk-nag AwsSolutions finding fixed or acknowledged", () => {
    // Prepare: beforeAll synthesized both stacks with the AwsSolutions pack, where an open finding fails synthesis.

    // Act
    const templates = [stacks.full, stacks.lambdaOnly].map(({ template }) => template.toJSON());

    // Assess
    for (const template of templates) expect(Object.keys(template.Resources).length).toBeGreaterThan(0);
  });

  it.each([
    ["the full stack", () => stacks.full],
    ["the Lambda-only stack", () => stacks.lambdaOnly],
  ])("passes cfn-lint with no errors for %s", async (_name, synthesized) => {
    // Prepare
    const { templatePath } = synthesized();

    // Act
    const errors = await cfnLintErrors(templatePath);

    // Assess
    expect(errors).toBe("");
  });

  it("leaves the whole GPU part out with gpu=false", () => {
    // Prepare
    const gpuTypes = ["AWS::ECS::Cluster", "AWS::EC2::VPC", "AWS::ElasticLoadBalancingV2::LoadBalancer", "AWS::ApiGateway::VpcLink", "AWS::AutoScaling::AutoScalingGroup"];

    // Act
    const templates = { full: stacks.full.template, lambdaOnly: stacks.lambdaOnly.template };

    // Assess
    for (const type of gpuTypes) {
      templates.lambdaOnly.resourceCountIs(type, 0);
      templates.full.resourceCountIs(type, 1);
    }
    expect(templates.lambdaOnly.findOutputs("GpuClassifierUrl")).toEqual({});
  });

  it("tells the function whether the API has the /gpu/ routes, so its answers send clients there only when it has", () => {
    // Prepare
    const functionEnv = (value: string) => ({ PackageType: "Image", Environment: { Variables: Match.objectLike({ GPU_ROUTE: value }) } });

    // Act & Assess
    stacks.full.template.hasResourceProperties("AWS::Lambda::Function", functionEnv("true"));
    stacks.lambdaOnly.template.hasResourceProperties("AWS::Lambda::Function", functionEnv("false"));
  });

  it("carries the asset metadata sam local reads to build lambda/Dockerfile", () => {
    // Prepare
    const functionId = onlyId(stacks.full, "AWS::Lambda::Function", { PackageType: "Image" });

    // Act
    const { Metadata: metadata } = stacks.full.template.toJSON().Resources[functionId];

    // Assess
    expect(metadata).toMatchObject({
      "aws:asset:dockerfile-path": "lambda/Dockerfile",
      "aws:asset:property": "Code.ImageUri",
      "aws:asset:path": expect.stringMatching(/^asset\./),
    });
  });

  it("routes every core route to the function's live alias", () => {
    // Prepare
    const aliasId = onlyId(stacks.full, "AWS::Lambda::Alias", { Name: "live" });

    // Act
    const { template } = stacks.full;

    // Assess
    for (const route of Object.values(API_ROUTES)) {
      template.hasResourceProperties("AWS::ApiGateway::Method", {
        HttpMethod: route.method,
        ResourceId: resourceOfPath(stacks.full, route.path),
        Integration: Match.objectLike({ Type: "AWS_PROXY", Uri: { "Fn::Join": ["", Match.arrayWith([{ Ref: aliasId }])] } }),
      });
    }
  });

  it("reaches the GPU service's NLB through the API's VPC link", () => {
    // Prepare
    const loadBalancerId = onlyId(stacks.full, "AWS::ElasticLoadBalancingV2::LoadBalancer");

    // Act
    const { template } = stacks.full;

    // Assess
    template.hasResourceProperties("AWS::ApiGateway::VpcLink", { TargetArns: [{ Ref: loadBalancerId }] });
    template.hasResourceProperties("AWS::ApiGateway::Method", {
      HttpMethod: "ANY",
      Integration: Match.objectLike({
        Uri: { "Fn::Join": ["", Match.arrayWith([{ "Fn::GetAtt": [loadBalancerId, "DNSName"] }])] },
      }),
    });
  });

  it("adds a GPU task when the classifier function throttles", () => {
    // Prepare
    const functionId = onlyId(stacks.full, "AWS::Lambda::Function", { PackageType: "Image" });

    // Act
    const { template } = stacks.full;

    // Assess
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      MetricName: "Throttles",
      Namespace: "AWS/Lambda",
      Dimensions: [{ Name: "FunctionName", Value: { Ref: functionId } }],
      Period: 60,
      Statistic: "Sum",
      AlarmActions: [{ Ref: Match.stringLikeRegexp("ScaleOutOnLambdaThrottles") }],
    });
  });

  it("publishes a version of the function on each deploy and shifts the live alias to it by CodeDeploy canary, rolled back by the 5xx and failure alarms", () => {
    // Prepare
    const aliasId = onlyId(stacks.full, "AWS::Lambda::Alias", { Name: "live" });
    const groupId = onlyId(stacks.full, "AWS::CodeDeploy::DeploymentGroup");
    const rollbackAlarms = ["Api5xxRate", "LambdaFailures"].map((name) => onlyId(stacks.full, "AWS::CloudWatch::Alarm", { AlarmName: `PneumoniaClassifier-${name}` }));

    // Act
    const alias = stacks.full.template.toJSON().Resources[aliasId];

    // Assess
    expect(alias.Properties.FunctionVersion).toEqual({ "Fn::GetAtt": [onlyId(stacks.full, "AWS::Lambda::Version"), "Version"] });
    expect(alias.UpdatePolicy.CodeDeployLambdaAliasUpdate.DeploymentGroupName).toEqual({ Ref: groupId });
    stacks.full.template.hasResourceProperties("AWS::CodeDeploy::DeploymentGroup", {
      AlarmConfiguration: { Enabled: true, Alarms: rollbackAlarms.map((id) => ({ Name: { Ref: id } })) },
      AutoRollbackConfiguration: { Enabled: true, Events: Match.arrayWith(["DEPLOYMENT_STOP_ON_ALARM"]) },
    });
    stacks.full.template.hasResourceProperties("AWS::CodeDeploy::DeploymentConfig", {
      TrafficRoutingConfig: { Type: "TimeBasedCanary", TimeBasedCanary: { CanaryPercentage: 10, CanaryInterval: 5 } },
    });
  });

  it("deploys the GPU service with the ECS circuit breaker, rolling a failed deployment back", () => {
    // Act
    const { template } = stacks.full;

    // Assess
    template.hasResourceProperties("AWS::ECS::Service", {
      DeploymentController: { Type: "ECS" },
      DeploymentConfiguration: Match.objectLike({ DeploymentCircuitBreaker: { Enable: true, Rollback: true } }),
    });
  });

  it.each([
    ["the full stack", () => stacks.full, ["Api5xxRate", "ClassifyP99Latency", "GateScoreDrift", "GpuNoHealthyTask", "GpuP99Latency", "GpuSaturated", "LambdaFailures", "LambdaThrottles", "PneumoniaShare", "RefusalRate"]],
    ["the Lambda-only stack", () => stacks.lambdaOnly, ["Api5xxRate", "ClassifyP99Latency", "GateScoreDrift", "LambdaFailures", "LambdaThrottles", "PneumoniaShare", "RefusalRate"]],
  ])("alarms on %s to the alarm topic and draws its dashboard", (_name, synthesized, names) => {
    // Prepare
    const { template } = synthesized();
    const topicId = onlyId(synthesized(), "AWS::SNS::Topic", { DisplayName: "Pneumonia classifier alarms" });

    // Act
    const alarms = Object.values(template.findResources("AWS::CloudWatch::Alarm", { Properties: { AlarmActions: [{ Ref: topicId }] } }));

    // Assess
    expect(alarms.map((alarm) => alarm.Properties.AlarmName).sort()).toEqual(names.map((name) => `PneumoniaClassifier-${name}`));
    template.resourceCountIs("AWS::CloudWatch::Dashboard", 1);
    template.hasOutput("DashboardUrl", { Value: { "Fn::Join": ["", Match.arrayWith([{ Ref: onlyId(synthesized(), "AWS::CloudWatch::Dashboard") }])] } });
    template.hasOutput("AlarmTopicArn", { Value: { Ref: topicId } });
  });

  it("turns the function's and the GPU tasks' metrics on in the namespace the alarms read", () => {
    // Act
    const { template } = stacks.full;

    // Assess
    template.hasResourceProperties("AWS::Lambda::Function", {
      Environment: { Variables: Match.objectLike({ POWERTOOLS_METRICS_NAMESPACE: SERVICE_METRICS.namespace }) },
    });
    template.hasResourceProperties("AWS::ECS::TaskDefinition", {
      ContainerDefinitions: [Match.objectLike({ Environment: Match.arrayWith([{ Name: "POWERTOOLS_METRICS_NAMESPACE", Value: SERVICE_METRICS.namespace }]) })],
    });
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      AlarmName: "PneumoniaClassifier-PneumoniaShare",
      Metrics: Match.arrayWith([Match.objectLike({ MetricStat: Match.objectLike({ Metric: Match.objectLike({ Namespace: SERVICE_METRICS.namespace }) }) })]),
    });
  });

  it("puts the WAF web ACL on the API's stage", () => {
    // Prepare
    const stageId = onlyId(stacks.full, "AWS::ApiGateway::Stage");

    // Act
    const { template } = stacks.full;

    // Assess
    template.hasResourceProperties("AWS::WAFv2::WebACLAssociation", {
      ResourceArn: { "Fn::Join": ["", Match.arrayWith([{ Ref: stageId }])] },
    });
  });

  it("keeps every log group's events for a month by default", () => {
    // Prepare
    const logGroups = ["the function's", "API access", "VPC flow", "GPU tasks'"];

    // Act
    const { template } = stacks.full;

    // Assess
    template.resourceCountIs("AWS::Logs::LogGroup", logGroups.length);
    template.allResourcesProperties("AWS::Logs::LogGroup", { RetentionInDays: 30 });
  });

  it("outputs the API URL, the API key id with the command to read it, and the GPU route URL", () => {
    // Prepare
    const apiKeyId = onlyId(stacks.full, "AWS::ApiGateway::ApiKey");
    const stageUrl = Match.objectLike({ "Fn::Join": ["", Match.arrayWith(["https://"])] });

    // Act
    const { template } = stacks.full;

    // Assess
    template.hasOutput("ApiUrl", { Value: stageUrl });
    template.hasOutput("ClassifierUrl", { Value: { "Fn::Join": ["", Match.arrayWith(["/pneumonia_classifier"])] } });
    template.hasOutput("GpuClassifierUrl", { Value: { "Fn::Join": ["", Match.arrayWith(["/gpu/pneumonia_classifier"])] } });
    template.hasOutput("ApiKeyId", { Value: { Ref: apiKeyId } });
    template.hasOutput("ApiKeyValueCommand", {
      Value: { "Fn::Join": ["", ["aws apigateway get-api-key --api-key ", { Ref: apiKeyId }, " --include-value --query value --output text"]] },
    });
  });

  describe("context options", () => {
    it("passes -c values to each construct they set", () => {
      // Prepare: stack-options.test.ts maps every key to its prop; one key per construct shows the stack passes them on.
      const context = {
        gpuMaxTasks: "6",
        lambdaMemoryMb: "2048",
        dailyQuota: "1000",
        wafRateLimitPer5Min: "500",
        logRetentionDays: "90",
        alarmEmail: "ops@example.com",
        canaryPercent: "20",
      };

      // Act
      const { template } = synthesize(context);

      // Assess
      template.hasResourceProperties("AWS::ApplicationAutoScaling::ScalableTarget", { MaxCapacity: 6 });
      template.hasResourceProperties("AWS::Lambda::Function", { MemorySize: 2048 });
      template.hasResourceProperties("AWS::ApiGateway::UsagePlan", { Quota: { Limit: 1000, Period: "DAY" } });
      template.hasResourceProperties("AWS::WAFv2::WebACL", {
        Rules: Match.arrayWith([Match.objectLike({ Name: "RateLimitPerIp", Statement: { RateBasedStatement: Match.objectLike({ Limit: 500 }) } })]),
      });
      template.allResourcesProperties("AWS::Logs::LogGroup", { RetentionInDays: 90 });
      template.hasResourceProperties("AWS::SNS::Subscription", { Protocol: "email", Endpoint: "ops@example.com" });
      template.hasResourceProperties("AWS::CodeDeploy::DeploymentConfig", { TrafficRoutingConfig: Match.objectLike({ TimeBasedCanary: { CanaryPercentage: 20, CanaryInterval: 5 } }) });
    });

    it.each([
      [{ gpuMinTasks: "5", gpuMaxTasks: "2" }, /GpuServiceProps\.minTasks=5 is above maxTasks=2: lower the minimum or raise the maximum/],
      [{ authMode: "cognito" }, /Context authMode="cognito" is invalid: give one of apiKey, iam, none/],
      [{ lambdaMemoryMb: "64" }, /ClassifierFunctionProps\.memorySize=64 MB is invalid: give an integer from 512 MB to 10240 MB/],
      [{ provisionedConcurrency: "80" }, /provisionedConcurrency=80 is above reservedConcurrency=50/],
      [{ gpu: "yes" }, /Context gpu="yes" is invalid: give true or false/],
      [{ gpuBatchMaxSize: "0" }, /GpuServiceProps\.batchMaxSize=0 is invalid: give an integer from 1 to 256/],
      [{ canaryMinutes: "1" }, /CanaryRolloutProps\.canaryMinutes=1 min is invalid: give an integer from 3 min to 120 min/],
      [{ pneumoniaShareMinPercent: "95" }, /ServiceMonitoringProps\.pneumoniaShareMinPercent=95 is above pneumoniaShareMaxPercent=90/],
    ])("refuses %o with a message naming the value and the fix", (context, message) => {
      // Act
      const act = () => synthesize(context);

      // Assess
      expect(act).toThrowError(message);
    });
  });
});
