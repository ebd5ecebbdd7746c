import { Duration, IgnoreMode, RemovalPolicy, Validations } from "aws-cdk-lib";
import * as autoscaling from "aws-cdk-lib/aws-autoscaling";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import { Platform } from "aws-cdk-lib/aws-ecr-assets";
import * as ecs from "aws-cdk-lib/aws-ecs";
import * as elbv2 from "aws-cdk-lib/aws-elasticloadbalancingv2";
import * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import { SERVER_SETTINGS } from "../lambda/server/server-config.js";
import { SERVICE_METRICS } from "../lambda/core/service-metrics.js";
import { DEFAULT_LOG_RETENTION } from "./log-retention.js";
import { checkInteger, checkNotAbove, withDefaults } from "./construct-props.js";

/** Port the GPU container's HTTP server listens on. */
export const GPU_CONTAINER_PORT = 8080;
/** Exits 0 when the server's /health answers 200; the same check as lambda/Dockerfile.gpu's HEALTHCHECK. */
export const GPU_HEALTH_CHECK_SCRIPT = `fetch('http://127.0.0.1:${GPU_CONTAINER_PORT}/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))`;
/** Port of the internal NLB's listener, which the API's VPC link calls. */
export const GPU_LISTENER_PORT = 80;

export interface GpuServiceProps {
  /** Docker build context: the repository root, which holds lambda/Dockerfile.gpu. */
  readonly buildContext: string;
  /** EC2 type of the instances, one GPU each. @default "g4dn.xlarge" (one NVIDIA T4) */
  readonly instanceType?: string;
  /** Fewest tasks, from 0 to 100, never above maxTasks. @default 1 */
  readonly minTasks?: number;
  /** Most tasks, and instances, from 1 to 100. @default 4 */
  readonly maxTasks?: number;
  /** Images in one run of the model on the GPU (the server's BATCH_MAX_SIZE), within the server's range. @default - the server's, 16 */
  readonly batchMaxSize?: number;
  /** How long the oldest image waits for its batch to fill (BATCH_MAX_WAIT_MS), within the server's range. @default - the server's, 5 */
  readonly batchMaxWaitMs?: number;
  /** Lambda throttles per minute that add a GPU task (step scaling). @default - no throttle step */
  readonly lambdaThrottles?: cloudwatch.IMetric;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
}

/** What GpuService builds with when a prop is left out; the batching settings are the server's own defaults. */
export const GPU_SERVICE_DEFAULTS = {
  instanceType: "g4dn.xlarge",
  minTasks: 1,
  maxTasks: 4,
  batchMaxSize: SERVER_SETTINGS.maxBatchSize.default(),
  batchMaxWaitMs: SERVER_SETTINGS.maxWaitMs.default(),
  logRetention: DEFAULT_LOG_RETENTION,
} as const;

/** What GpuService accepts; the batching settings take the ranges the server itself accepts. */
export const GPU_SERVICE_LIMITS = {
  instanceType: /^[a-z][a-z0-9-]*\.[a-z0-9]+$/,
  minTasks: { min: 0, max: 100 },
  maxTasks: { min: 1, max: 100 },
  batchMaxSize: { min: SERVER_SETTINGS.maxBatchSize.min, max: SERVER_SETTINGS.maxBatchSize.max },
  batchMaxWaitMs: { min: SERVER_SETTINGS.maxWaitMs.min, max: SERVER_SETTINGS.maxWaitMs.max, unit: "ms" },
} as const;

/** The props with their defaults, checked; throws naming the prop, the value and the fix. */
function resolveProps(props: GpuServiceProps) {
  const owner = "GpuServiceProps";
  const resolved = withDefaults(props, GPU_SERVICE_DEFAULTS);
  if (!GPU_SERVICE_LIMITS.instanceType.test(resolved.instanceType)) {
    throw new Error(`${owner}.instanceType=${JSON.stringify(resolved.instanceType)} is invalid: give an EC2 type such as g4dn.xlarge.`);
  }
  checkInteger(owner, "minTasks", resolved.minTasks, GPU_SERVICE_LIMITS.minTasks);
  checkInteger(owner, "maxTasks", resolved.maxTasks, GPU_SERVICE_LIMITS.maxTasks);
  checkNotAbove(
    owner,
    { prop: "minTasks", value: resolved.minTasks },
    { prop: "maxTasks", value: resolved.maxTasks },
    "lower the minimum or raise the maximum",
  );
  checkInteger(owner, "batchMaxSize", resolved.batchMaxSize, GPU_SERVICE_LIMITS.batchMaxSize);
  checkInteger(owner, "batchMaxWaitMs", resolved.batchMaxWaitMs, GPU_SERVICE_LIMITS.batchMaxWaitMs);
  return resolved;
}

/**
 * The throughput fallback: the batching server (lambda/serve-gpu.ts; same contract as the Lambda route) in a one-GPU ECS task
 * on GPU-optimised EC2 instances, behind an internal NLB that only the API's VPC link reaches.
 */
export class GpuService extends Construct {
  readonly vpc: ec2.Vpc;
  readonly cluster: ecs.Cluster;
  readonly autoScalingGroup: autoscaling.AutoScalingGroup;
  readonly service: ecs.Ec2Service;
  readonly loadBalancer: elbv2.NetworkLoadBalancer;
  /** The tasks as the NLB sees them, with their health. */
  readonly targetGroup: elbv2.NetworkTargetGroup;
  readonly listenerPort = GPU_LISTENER_PORT;
  /** Fewest tasks autoscaling keeps. */
  readonly minTasks: number;

  constructor(scope: Construct, id: string, props: GpuServiceProps) {
    super(scope, id);
    const resolved = resolveProps(props);
    const { minTasks, maxTasks, logRetention: retention } = resolved;
    this.minTasks = minTasks;

    this.vpc = new ec2.Vpc(this, "Vpc", {
      maxAzs: 2,
      natGateways: 1,
      flowLogs: {
        rejected: {
          destination: ec2.FlowLogDestination.toCloudWatchLogs(
            new logs.LogGroup(this, "FlowLogs", { retention, removalPolicy: RemovalPolicy.DESTROY }),
          ),
          trafficType: ec2.FlowLogTrafficType.REJECT,
        },
      },
    });
    this.cluster = new ecs.Cluster(this, "Cluster", { vpc: this.vpc, containerInsightsV2: ecs.ContainerInsights.ENABLED });

    this.autoScalingGroup = new autoscaling.AutoScalingGroup(this, "GpuInstances", {
      vpc: this.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      instanceType: new ec2.InstanceType(resolved.instanceType),
      machineImage: ecs.EcsOptimizedImage.amazonLinux2(ecs.AmiHardwareType.GPU),
      minCapacity: 0,
      maxCapacity: maxTasks,
      requireImdsv2: true,
      blockDevices: [{ deviceName: "/dev/xvda", volume: autoscaling.BlockDeviceVolume.ebs(60, { encrypted: true }) }],
    });
    // One task per instance: the task takes the instance's only GPU, so instances follow tasks.
    const capacityProvider = new ecs.AsgCapacityProvider(this, "CapacityProvider", {
      autoScalingGroup: this.autoScalingGroup,
      enableManagedTerminationProtection: false,
    });
    this.cluster.addAsgCapacityProvider(capacityProvider);

    const taskDefinition = new ecs.Ec2TaskDefinition(this, "Task", { networkMode: ecs.NetworkMode.AWS_VPC });
    taskDefinition.addContainer("Classifier", {
      image: ecs.ContainerImage.fromAsset(resolved.buildContext, {
        file: "lambda/Dockerfile.gpu",
        platform: Platform.LINUX_AMD64,
        ignoreMode: IgnoreMode.DOCKER,
      }),
      gpuCount: 1,
      // g4dn.xlarge: 4 vCPUs and 16 GiB, less what the ECS agent and the OS keep.
      cpu: 3584,
      memoryReservationMiB: 12288,
      portMappings: [{ containerPort: GPU_CONTAINER_PORT }],
      environment: {
        PORT: String(GPU_CONTAINER_PORT),
        HOST: "0.0.0.0",
        ONNX_EXECUTION_PROVIDERS: "cuda,cpu",
        BATCH_MAX_SIZE: String(resolved.batchMaxSize),
        BATCH_MAX_WAIT_MS: String(resolved.batchMaxWaitMs),
        // Turns the server's CloudWatch metrics (EMF lines in these logs) on, under the Lambda handler's names.
        POWERTOOLS_METRICS_NAMESPACE: SERVICE_METRICS.namespace,
      },
      // On SIGTERM the batching server refuses new work and answers what it holds (SHUTDOWN_TIMEOUT_MS, 50 s by
      // default) before exiting; ECS waits this long before SIGKILL, where the EC2 agent's default is 30 s.
      stopTimeout: Duration.seconds(60),
      healthCheck: {
        // The image has no curl; Node's fetch asks /health, which answers 200 once the model is loaded and warm.
        command: ["CMD", "node", "-e", GPU_HEALTH_CHECK_SCRIPT],
        interval: Duration.seconds(15),
        timeout: Duration.seconds(5),
        retries: 3,
        startPeriod: Duration.seconds(60),
      },
      logging: ecs.LogDrivers.awsLogs({
        streamPrefix: "gpu",
        logGroup: new logs.LogGroup(this, "Logs", { retention, removalPolicy: RemovalPolicy.DESTROY }),
      }),
    });

    const loadBalancerSecurityGroup = new ec2.SecurityGroup(this, "NlbSecurityGroup", {
      vpc: this.vpc,
      description: "Internal NLB of the GPU service: no inbound rule, only the API VPC link (PrivateLink) reaches it",
      allowAllOutbound: false,
    });
    const taskSecurityGroup = new ec2.SecurityGroup(this, "TaskSecurityGroup", {
      vpc: this.vpc,
      description: "GPU classifier tasks: HTTP from the internal NLB only",
    });
    taskSecurityGroup.addIngressRule(loadBalancerSecurityGroup, ec2.Port.tcp(GPU_CONTAINER_PORT), "HTTP from the internal NLB");
    loadBalancerSecurityGroup.addEgressRule(taskSecurityGroup, ec2.Port.tcp(GPU_CONTAINER_PORT), "HTTP to the GPU tasks");

    this.service = new ecs.Ec2Service(this, "Service", {
      cluster: this.cluster,
      taskDefinition,
      desiredCount: minTasks,
      securityGroups: [taskSecurityGroup],
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      capacityProviderStrategies: [{ capacityProvider: capacityProvider.capacityProviderName, weight: 1 }],
      circuitBreaker: { rollback: true },
      minHealthyPercent: 50,
      maxHealthyPercent: 200,
      healthCheckGracePeriod: Duration.seconds(120),
    });

    this.loadBalancer = new elbv2.NetworkLoadBalancer(this, "Nlb", {
      vpc: this.vpc,
      internetFacing: false,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [loadBalancerSecurityGroup],
      // VPC link traffic arrives over PrivateLink; with this off it passes, and the group admits nothing else.
      enforceSecurityGroupInboundRulesOnPrivateLinkTraffic: false,
      crossZoneEnabled: true,
    });
    this.targetGroup = this.loadBalancer.addListener("Http", { port: GPU_LISTENER_PORT }).addTargets("Tasks", {
      port: GPU_CONTAINER_PORT,
      targets: [this.service],
      healthCheck: { protocol: elbv2.Protocol.HTTP, path: "/health", interval: Duration.seconds(15) },
      deregistrationDelay: Duration.seconds(30),
    });

    this.acknowledgeNagFindings(taskDefinition);

    const scaling = this.service.autoScaleTaskCount({ minCapacity: minTasks, maxCapacity: maxTasks });
    scaling.scaleOnCpuUtilization("TargetCpu", {
      targetUtilizationPercent: 60,
      scaleInCooldown: Duration.minutes(5),
      scaleOutCooldown: Duration.minutes(1),
    });
    if (resolved.lambdaThrottles) {
      scaling.scaleOnMetric("ScaleOutOnLambdaThrottles", {
        metric: resolved.lambdaThrottles,
        adjustmentType: autoscaling.AdjustmentType.CHANGE_IN_CAPACITY,
        scalingSteps: [
          { upper: 0, change: 0 },
          { lower: 1, change: 1 },
          { lower: 100, change: 2 },
        ],
        cooldown: Duration.minutes(2),
      });
    }
  }

  /** Findings cdk-nag raises on resources CDK makes for ECS on EC2, with why each is accepted. */
  private acknowledgeNagFindings(taskDefinition: ecs.Ec2TaskDefinition): void {
    const asg = this.autoScalingGroup;
    Validations.of(asg).acknowledge(
      { id: "AwsSolutions-AS3", reason: "Scaling is driven by the ECS capacity provider; its events and Container Insights cover what notifications would." },
      { id: "AwsSolutions-IAM5[Action::ecs:Submit*]", reason: "CDK's standard ECS instance role: the agent reports task and container state for its own cluster." },
      { id: "AwsSolutions-IAM5[Resource::*]", reason: "ECS agent and drain hook actions (ecs:DiscoverPollEndpoint, ecr:GetAuthorizationToken, ec2:DescribeInstances) have no resource-level permissions." },
      {
        id: "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:autoscaling:<AWS::Region>:<AWS::AccountId>:autoScalingGroup:*:autoScalingGroupName/<GpuGpuInstancesASG7097EA6B>]",
        reason: "The drain hook may complete lifecycle actions on this one group only; the wildcard is the group's generated id.",
      },
      {
        id: "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
        reason: "CDK's ECS drain hook function: AWS-maintained policy that grants only CloudWatch Logs writes.",
      },
      { id: "AwsSolutions-L1", reason: "The ECS drain hook function is created and versioned by aws-cdk-lib; its runtime moves with CDK upgrades." },
      { id: "AwsSolutions-SNS3", reason: "The drain hook topic is CDK-internal: only EC2 Auto Scaling publishes to it, over AWS's own endpoints." },
    );
    Validations.of(taskDefinition).acknowledge(
      { id: "AwsSolutions-ECS2", reason: "The variables are non-secret settings (port, bind address, execution providers, batching, metrics namespace); there are no secrets." },
      { id: "AwsSolutions-IAM5[Resource::*]", reason: "The execution role's ecr:GetAuthorizationToken has no resource-level permission." },
    );
    Validations.of(this.loadBalancer).acknowledge({
      id: "AwsSolutions-ELB2",
      reason: "NLB access logs exist only for TLS listeners; this internal NLB speaks plain HTTP inside the VPC. API Gateway access logs record every request.",
    });
  }
}
