import { Duration } from "aws-cdk-lib";
import { Capture, Match, Template } from "aws-cdk-lib/assertions";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import { afterAll, describe, expect, it } from "vitest";
import { GPU_HEALTH_CHECK_SCRIPT, GpuService, type GpuServiceProps } from "../../lib/gpu-service.js";
import { SERVICE_METRICS } from "../../lambda/core/service-metrics.js";
import { bareStack, removeSynthesized, stubBuildContext } from "../support/synth.js";

afterAll(removeSynthesized);

describe("GpuService", () => {
  it("runs on GPU-optimised ECS instances, g4dn.xlarge with IMDSv2, in a cluster with Container Insights", () => {
    // Prepare
    const stack = bareStack();
    const imageParameter = new Capture();

    // Act
    new GpuService(stack, "Gpu", { buildContext: stubBuildContext() });

    // Assess
    const template = Template.fromStack(stack);
    template.hasResourceProperties("AWS::ECS::Cluster", { ClusterSettings: [{ Name: "containerInsights", Value: "enabled" }] });
    template.hasResourceProperties("AWS::EC2::LaunchTemplate", {
      LaunchTemplateData: Match.objectLike({
        ImageId: { Ref: imageParameter },
        InstanceType: "g4dn.xlarge",
        MetadataOptions: Match.objectLike({ HttpTokens: "required" }),
      }),
    });
    template.hasParameter(imageParameter.asString(), {
      Type: "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>",
      Default: Match.stringLikeRegexp("^/aws/service/ecs/optimized-ami/amazon-linux-2/gpu/recommended/"),
    });
  });

  it("gives the container one GPU, port 8080, a health check and time to drain on stop", () => {
    // Prepare
    const stack = bareStack();

    // Act
    new GpuService(stack, "Gpu", { buildContext: stubBuildContext() });

    // Assess
    const template = Template.fromStack(stack);
    template.hasResourceProperties("AWS::ECS::TaskDefinition", {
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

  it.each<[string, Partial<GpuServiceProps>, { size: string; waitMs: string }]>([
    ["the batching server's own defaults when none is given", {}, { size: "16", waitMs: "5" }],
    ["the batching settings it is given", { batchMaxSize: 64, batchMaxWaitMs: 20 }, { size: "64", waitMs: "20" }],
  ])("passes the container %s", (_name, props, expected) => {
    // Prepare
    const stack = bareStack();

    // Act
    new GpuService(stack, "Gpu", { buildContext: stubBuildContext(), ...props });

    // Assess
    Template.fromStack(stack).hasResourceProperties("AWS::ECS::TaskDefinition", {
      ContainerDefinitions: [
        Match.objectLike({
          Environment: Match.arrayWith([
            { Name: "BATCH_MAX_SIZE", Value: expected.size },
            { Name: "BATCH_MAX_WAIT_MS", Value: expected.waitMs },
          ]),
        }),
      ],
    });
  });

  it("deploys with the ECS deployment controller's circuit breaker, which rolls a failing deployment back", () => {
    // Prepare
    const stack = bareStack();

    // Act
    new GpuService(stack, "Gpu", { buildContext: stubBuildContext() });

    // Assess
    Template.fromStack(stack).hasResourceProperties("AWS::ECS::Service", {
      DeploymentController: { Type: "ECS" },
      DeploymentConfiguration: Match.objectLike({ DeploymentCircuitBreaker: { Enable: true, Rollback: true }, MinimumHealthyPercent: 50, MaximumPercent: 200 }),
    });
  });

  it("turns the batching server's CloudWatch metrics on with the service's namespace", () => {
    // Prepare
    const stack = bareStack();

    // Act
    new GpuService(stack, "Gpu", { buildContext: stubBuildContext() });

    // Assess
    Template.fromStack(stack).hasResourceProperties("AWS::ECS::TaskDefinition", {
      ContainerDefinitions: [Match.objectLike({ Environment: Match.arrayWith([{ Name: "POWERTOOLS_METRICS_NAMESPACE", Value: SERVICE_METRICS.namespace }]) })],
    });
  });

  it("is reached only through an internal NLB whose security group admits nothing directly", () => {
    // Prepare
    const stack = bareStack();
    const nlbGroup = new Capture();

    // Act
    new GpuService(stack, "Gpu", { buildContext: stubBuildContext() });

    // Assess
    const template = Template.fromStack(stack);
    template.hasResourceProperties("AWS::ElasticLoadBalancingV2::LoadBalancer", {
      Scheme: "internal",
      Type: "network",
      EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic: "off",
      SecurityGroups: [{ "Fn::GetAtt": [nlbGroup, "GroupId"] }],
    });
    const admitsNothing = { Properties: { GroupDescription: Match.stringLikeRegexp("^Internal NLB"), SecurityGroupIngress: Match.absent() } };
    expect(Object.keys(template.findResources("AWS::EC2::SecurityGroup", admitsNothing))).toEqual([nlbGroup.asString()]);
    template.hasResourceProperties("AWS::EC2::SecurityGroupIngress", {
      FromPort: 8080,
      ToPort: 8080,
      SourceSecurityGroupId: { "Fn::GetAtt": [nlbGroup.asString(), "GroupId"] },
    });
  });

  it("scales on CPU between one and four tasks by default, with no throttle step", () => {
    // Prepare
    const stack = bareStack();

    // Act
    new GpuService(stack, "Gpu", { buildContext: stubBuildContext() });

    // Assess
    const template = Template.fromStack(stack);
    template.hasResourceProperties("AWS::ApplicationAutoScaling::ScalableTarget", { MinCapacity: 1, MaxCapacity: 4 });
    template.hasResourceProperties("AWS::AutoScaling::AutoScalingGroup", { MinSize: "0", MaxSize: "4" });
    template.hasResourceProperties("AWS::ApplicationAutoScaling::ScalingPolicy", {
      PolicyType: "TargetTrackingScaling",
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({ TargetValue: 60 }),
    });
    template.resourceCountIs("AWS::CloudWatch::Alarm", 0);
  });

  it("scales between the tasks it is given, and steps out when the Lambda throttles", () => {
    // Prepare
    const stack = bareStack();
    const lambdaThrottles = new cloudwatch.Metric({ namespace: "AWS/Lambda", metricName: "Throttles", period: Duration.minutes(1), statistic: "Sum" });

    // Act
    new GpuService(stack, "Gpu", { buildContext: stubBuildContext(), minTasks: 2, maxTasks: 6, lambdaThrottles });

    // Assess
    const template = Template.fromStack(stack);
    template.hasResourceProperties("AWS::ApplicationAutoScaling::ScalableTarget", { MinCapacity: 2, MaxCapacity: 6 });
    template.hasResourceProperties("AWS::ECS::Service", { DesiredCount: 2 });
    template.hasResourceProperties("AWS::CloudWatch::Alarm", { MetricName: "Throttles", Namespace: "AWS/Lambda", Threshold: 1 });
  });

  it.each<[Partial<GpuServiceProps>, RegExp]>([
    [{ instanceType: "g4dn" }, /^GpuServiceProps\.instanceType="g4dn" is invalid: give an EC2 type such as g4dn\.xlarge\.$/],
    [{ minTasks: 5, maxTasks: 2 }, /^GpuServiceProps\.minTasks=5 is above maxTasks=2: lower the minimum or raise the maximum\.$/],
    [{ maxTasks: 0 }, /maxTasks=0 is invalid: give an integer from 1 to 100/],
    [{ batchMaxSize: 0 }, /^GpuServiceProps\.batchMaxSize=0 is invalid: give an integer from 1 to 256\.$/],
    [{ batchMaxWaitMs: 1001 }, /batchMaxWaitMs=1001 ms is invalid: give an integer from 0 ms to 1000 ms/],
  ])("refuses %o with a message naming the value and the fix", (props, message) => {
    // Prepare
    const stack = bareStack();

    // Act
    const act = () => new GpuService(stack, "Gpu", { buildContext: stubBuildContext(), ...props });

    // Assess
    expect(act).toThrowError(message);
  });
});
