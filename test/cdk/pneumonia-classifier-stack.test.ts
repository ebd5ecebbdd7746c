import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Match } from "aws-cdk-lib/assertions";
import { removeSynthesized, synthesize, type Synthesized } from "../support/synth.js";
import { API_ROUTES } from "../../lambda/core/routes.js";
import { GPU_HEALTH_CHECK_SCRIPT } from "../../lib/gpu-service.js";

const run = promisify(execFile);
let full: Synthesized;
let lambdaOnly: Synthesized;

beforeAll(() => {
  full = synthesize();
  lambdaOnly = synthesize({ gpu: "false" });
});

afterAll(removeSynthesized);

/** cfn-lint's exit code is a bit set: 2 errors, 4 warnings, 8 informational. */
async function cfnLintErrors(templatePath: string): Promise<string> {
  try {
    await run("cfn-lint", ["--format", "parseable", templatePath]);
    return "";
  } catch (error) {
    const { code, stdout } = error as { code: number; stdout: string };
    if (typeof code !== "number") throw error;
    return code & 2 ? stdout.split("\n").filter((line) => /:E\d{4}:/.test(line)).join("\n") : "";
  }
}

describe("PneumoniaClassifierStack", () => {
  it("synthesizes offline with every cdk-nag AwsSolutions finding fixed or acknowledged", () => {
    // synthesize() runs the AwsSolutions pack as a validation plugin; a finding left open fails synthesis.
    expect(full.template.toJSON().Resources).toBeDefined();
    expect(lambdaOnly.template.toJSON().Resources).toBeDefined();
  });

  it.each([
    ["the full stack", () => full],
    ["the Lambda-only stack", () => lambdaOnly],
  ])("passes cfn-lint with no errors for %s", async (_name, synthesized) => {
    expect(await cfnLintErrors(synthesized().templatePath)).toBe("");
  });

  it("leaves the whole GPU part out with gpu=false", () => {
    for (const type of ["AWS::ECS::Cluster", "AWS::EC2::VPC", "AWS::ElasticLoadBalancingV2::LoadBalancer", "AWS::ApiGateway::VpcLink", "AWS::AutoScaling::AutoScalingGroup"]) {
      lambdaOnly.template.resourceCountIs(type, 0);
      full.template.resourceCountIs(type, 1);
    }
    expect(Object.keys(lambdaOnly.template.findOutputs("GpuClassifierUrl"))).toEqual([]);
  });

  describe("Lambda function", () => {
    it("is a container image on x86_64 with measured memory, timeout, reserved concurrency and tracing", () => {
      full.template.hasResourceProperties("AWS::Lambda::Function", {
        PackageType: "Image",
        Architectures: ["x86_64"],
        MemorySize: 1769,
        Timeout: 15,
        ReservedConcurrentExecutions: 50,
        TracingConfig: { Mode: "Active" },
        LoggingConfig: Match.objectLike({ LogFormat: "JSON" }),
      });
    });

    it("carries the asset metadata sam local reads to build lambda/Dockerfile", () => {
      const functions = full.template.findResources("AWS::Lambda::Function", { Properties: { PackageType: "Image" } });
      const [metadata] = Object.values(functions).map((f) => (f as { Metadata: Record<string, string> }).Metadata);
      expect(metadata).toMatchObject({ "aws:asset:dockerfile-path": "lambda/Dockerfile", "aws:asset:property": "Code.ImageUri" });
      expect(metadata!["aws:asset:path"]).toMatch(/^asset\./);
    });

    it("has a live alias, with provisioned concurrency only when asked for", () => {
      full.template.hasResourceProperties("AWS::Lambda::Alias", { Name: "live", ProvisionedConcurrencyConfig: Match.absent() });
      synthesize({ gpu: "false", provisionedConcurrency: "2" }).template.hasResourceProperties("AWS::Lambda::Alias", {
        Name: "live",
        ProvisionedConcurrencyConfig: { ProvisionedConcurrentExecutions: 2 },
      });
    });

    it("keeps its logs for the retention period", () => {
      full.template.hasResourceProperties("AWS::Logs::LogGroup", { RetentionInDays: 30 });
    });
  });

  describe("REST API", () => {
    it("treats multipart/form-data and images as binary so uploads arrive intact", () => {
      full.template.hasResourceProperties("AWS::ApiGateway::RestApi", {
        BinaryMediaTypes: Match.arrayWith(["multipart/form-data", "image/jpeg", "image/png"]),
      });
    });

    it("routes every core route to the live alias, the classifier behind an API key", () => {
      const [aliasId] = Object.keys(full.template.findResources("AWS::Lambda::Alias", { Properties: { Name: "live" } }));
      const resources = full.template.findResources("AWS::ApiGateway::Resource");
      for (const route of Object.values(API_ROUTES)) {
        const [resourceId] = Object.entries(resources).find(([, r]) => r.Properties.PathPart === route.path.slice(1)) ?? [];
        const method = Object.values(full.template.findResources("AWS::ApiGateway::Method", { Properties: { HttpMethod: route.method, ResourceId: { Ref: resourceId } } }))[0];
        expect(method?.Properties.Integration.Type, `${route.method} ${route.path}`).toBe("AWS_PROXY");
        expect(JSON.stringify(method), `${route.method} ${route.path}`).toContain(`{"Ref":"${aliasId}"}`);
      }
      full.template.hasResourceProperties("AWS::ApiGateway::Method", { HttpMethod: "POST", ApiKeyRequired: true, Integration: Match.objectLike({ Type: "AWS_PROXY" }) });
      full.template.hasResourceProperties("AWS::ApiGateway::Method", { HttpMethod: "GET", ApiKeyRequired: Match.absent(), AuthorizationType: "NONE" });
    });

    it("signs with IAM instead of an API key when authMode=iam", () => {
      const { template } = synthesize({ gpu: "false", authMode: "iam" });
      template.hasResourceProperties("AWS::ApiGateway::Method", { HttpMethod: "POST", AuthorizationType: "AWS_IAM" });
      template.resourceCountIs("AWS::ApiGateway::ApiKey", 0);
    });

    it("sends /gpu/{proxy+} to the GPU service through the VPC link", () => {
      full.template.hasResourceProperties("AWS::ApiGateway::Method", {
        HttpMethod: "ANY",
        ApiKeyRequired: true,
        Integration: Match.objectLike({ Type: "HTTP_PROXY", ConnectionType: "VPC_LINK" }),
      });
      full.template.hasResourceProperties("AWS::ApiGateway::Resource", { PathPart: "{proxy+}" });
    });

    it("has a usage plan with quota and separate method throttles for the Lambda and GPU routes", () => {
      full.template.hasResourceProperties("AWS::ApiGateway::UsagePlan", {
        Quota: { Limit: 100000, Period: "DAY" },
        Throttle: { RateLimit: 100, BurstLimit: 200 },
        ApiStages: [
          Match.objectLike({
            Throttle: {
              "/pneumonia_classifier/POST": { RateLimit: 50, BurstLimit: 100 },
              "/gpu/{proxy+}/ANY": { RateLimit: 100, BurstLimit: 200 },
            },
          }),
        ],
      });
      full.template.resourceCountIs("AWS::ApiGateway::ApiKey", 1);
      full.template.resourceCountIs("AWS::ApiGateway::UsagePlanKey", 1);
    });

    it("logs access and throttles the stage", () => {
      full.template.hasResourceProperties("AWS::ApiGateway::Stage", {
        StageName: "prod",
        AccessLogSetting: Match.objectLike({ DestinationArn: Match.anyValue() }),
        TracingEnabled: true,
        MethodSettings: Match.arrayWith([Match.objectLike({ ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 })]),
      });
    });

    it("is protected by a WAF rate limit and managed rules that let image bodies through", () => {
      full.template.hasResourceProperties("AWS::WAFv2::WebACL", {
        Scope: "REGIONAL",
        Rules: Match.arrayWith([
          Match.objectLike({ Name: "RateLimitPerIp", Statement: { RateBasedStatement: { Limit: 2000, AggregateKeyType: "IP" } } }),
          Match.objectLike({
            Name: "AWSManagedRulesCommonRuleSet",
            Statement: {
              ManagedRuleGroupStatement: Match.objectLike({
                RuleActionOverrides: [
                  { Name: "SizeRestrictions_BODY", ActionToUse: { Count: {} } },
                  { Name: "CrossSiteScripting_BODY", ActionToUse: { Count: {} } },
                ],
              }),
            },
          }),
        ]),
      });
      full.template.resourceCountIs("AWS::WAFv2::WebACLAssociation", 1);
    });

    it("outputs the API URL, the API key id with the command to read it, and the GPU route URL", () => {
      const outputs = full.template.toJSON().Outputs as Record<string, { Value: unknown }>;
      expect(Object.keys(outputs)).toEqual(expect.arrayContaining(["ApiUrl", "ClassifierUrl", "ApiKeyId", "ApiKeyValueCommand", "GpuClassifierUrl"]));
      expect(JSON.stringify(outputs.ApiKeyValueCommand!.Value)).toContain("aws apigateway get-api-key");
    });
  });

  describe("GPU service", () => {
    it("runs on GPU-optimised ECS instances in a cluster with Container Insights", () => {
      full.template.hasResourceProperties("AWS::ECS::Cluster", {
        ClusterSettings: [{ Name: "containerInsights", Value: "enabled" }],
      });
      const template = JSON.stringify(full.template.toJSON());
      expect(template).toContain("/aws/service/ecs/optimized-ami/amazon-linux-2/gpu/recommended");
      full.template.hasResourceProperties("AWS::EC2::LaunchTemplate", {
        LaunchTemplateData: Match.objectLike({ InstanceType: "g4dn.xlarge", MetadataOptions: Match.objectLike({ HttpTokens: "required" }) }),
      });
    });

    it("gives the container one GPU, the GPU image, a health check and time to drain on stop", () => {
      full.template.hasResourceProperties("AWS::ECS::TaskDefinition", {
        ContainerDefinitions: [
          Match.objectLike({
            ResourceRequirements: [{ Type: "GPU", Value: "1" }],
            HealthCheck: Match.objectLike({ Command: ["CMD", "node", "-e", GPU_HEALTH_CHECK_SCRIPT] }),
            PortMappings: [Match.objectLike({ ContainerPort: 8080 })],
            StopTimeout: 60,
          }),
        ],
      });
    });

    it("is reached only through an internal NLB whose security group admits nothing directly", () => {
      full.template.hasResourceProperties("AWS::ElasticLoadBalancingV2::LoadBalancer", {
        Scheme: "internal",
        Type: "network",
        EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic: "off",
      });
      const groups = full.template.findResources("AWS::EC2::SecurityGroup");
      const nlbGroup = Object.values(groups).find((g) => JSON.stringify(g).includes("Internal NLB")) as { Properties: Record<string, unknown> };
      expect(nlbGroup.Properties.SecurityGroupIngress).toBeUndefined();
      full.template.hasResourceProperties("AWS::EC2::SecurityGroupIngress", {
        FromPort: 8080,
        ToPort: 8080,
        SourceSecurityGroupId: Match.objectLike({ "Fn::GetAtt": [Match.stringLikeRegexp("NlbSecurityGroup"), "GroupId"] }),
      });
    });

    it("passes the context's batching settings to the GPU container", () => {
      const { template } = synthesize({ gpuBatchMaxSize: "64", gpuBatchMaxWaitMs: "20" });
      template.hasResourceProperties("AWS::ECS::TaskDefinition", {
        ContainerDefinitions: [
          Match.objectLike({
            Environment: Match.arrayWith([
              { Name: "BATCH_MAX_SIZE", Value: "64" },
              { Name: "BATCH_MAX_WAIT_MS", Value: "20" },
            ]),
          }),
        ],
      });
    });

    it("scales on CPU between the context's min and max tasks, and steps out when the Lambda throttles", () => {
      const { template } = synthesize({ gpuMinTasks: "2", gpuMaxTasks: "6" });
      template.hasResourceProperties("AWS::ApplicationAutoScaling::ScalableTarget", { MinCapacity: 2, MaxCapacity: 6 });
      template.hasResourceProperties("AWS::ApplicationAutoScaling::ScalingPolicy", {
        PolicyType: "TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration: Match.objectLike({ TargetValue: 60 }),
      });
      template.hasResourceProperties("AWS::CloudWatch::Alarm", { MetricName: "Throttles", Namespace: "AWS/Lambda" });
    });
  });

  describe("context options", () => {
    it.each([
      [{ gpuMinTasks: "5", gpuMaxTasks: "2" }, /GpuServiceProps.minTasks=5 is above maxTasks=2: lower the minimum or raise the maximum/],
      [{ authMode: "cognito" }, /authMode="cognito" is invalid: give one of apiKey, iam, none/],
      [{ lambdaMemoryMb: "64" }, /ClassifierFunctionProps.memorySize=64 MB is invalid: give an integer from 512 MB to 10240 MB/],
      [{ provisionedConcurrency: "80" }, /provisionedConcurrency=80 is above reservedConcurrency=50/],
      [{ gpu: "yes" }, /gpu="yes" is invalid: give true or false/],
      [{ gpuBatchMaxSize: "0" }, /GpuServiceProps.batchMaxSize=0 is invalid: give an integer from 1 to 256/],
    ])("refuses %o with a message naming the value and the fix", (context, message) => {
      expect(() => synthesize(context)).toThrowError(message);
    });
  });
});
