import type { Stack } from "aws-cdk-lib";
import { Capture, Match, Template } from "aws-cdk-lib/assertions";
import * as elbv2 from "aws-cdk-lib/aws-elasticloadbalancingv2";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { afterAll, describe, expect, it } from "vitest";
import { API_ROUTES, WEB_ROUTE_NAMES } from "../../lambda/core/http/routes.js";
import { ClassifierApi, type ClassifierApiProps, type GpuTarget } from "../../lib/classifier-api.js";
import { bareStack, removeSynthesized } from "../support/synth.js";

afterAll(removeSynthesized);

/** The collaborators ClassifierApi needs: a function for the Lambda routes and, for /gpu, an NLB. */
function collaborators(stack: Stack): { handler: lambda.IFunction; gpu: GpuTarget } {
  const handler = new lambda.Function(stack, "Handler", {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: "index.handler",
    code: lambda.Code.fromInline("exports.handler = async () => ({ statusCode: 200 });"),
  });
  const loadBalancer = elbv2.NetworkLoadBalancer.fromNetworkLoadBalancerAttributes(stack, "Nlb", {
    loadBalancerArn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/gpu/0123456789abcdef",
    loadBalancerDnsName: "gpu.internal.example",
  });
  return { handler, gpu: { loadBalancer, port: 80 } };
}

/** The logical ID of the API resource at `path`, one segment deep. */
/** A route's resource as its methods name it: the API's root resource for /, else the resource of the path's last part. */
function resourceIdOf(template: Template, path: string): object {
  if (path === "/") return { "Fn::GetAtt": [Object.keys(template.findResources("AWS::ApiGateway::RestApi"))[0], "RootResourceId"] };
  return { Ref: Object.keys(template.findResources("AWS::ApiGateway::Resource", { Properties: { PathPart: path.split("/").at(-1) } }))[0] };
}

describe("ClassifierApi", () => {
  it("treats multipart/form-data and images as binary so uploads arrive intact", () => {
    // Prepare
    const stack = bareStack();

    // Act
    new ClassifierApi(stack, "Api", { handler: collaborators(stack).handler });

    // Assess
    Template.fromStack(stack).hasResourceProperties("AWS::ApiGateway::RestApi", {
      BinaryMediaTypes: Match.arrayWith(["multipart/form-data", "image/jpeg", "image/png"]),
      EndpointConfiguration: { Types: ["REGIONAL"] },
    });
  });

  it("routes every core route to the handler, the classifier behind an API key and the rest public", () => {
    // Prepare
    const stack = bareStack();
    const { handler } = collaborators(stack);

    // Act
    new ClassifierApi(stack, "Api", { handler });

    // Assess
    const template = Template.fromStack(stack);
    const handlerId = stack.getLogicalId(handler.node.defaultChild as lambda.CfnFunction);
    for (const route of Object.values(API_ROUTES)) {
      template.hasResourceProperties("AWS::ApiGateway::Method", {
        HttpMethod: route.method,
        ResourceId: resourceIdOf(template, route.path),
        AuthorizationType: "NONE",
        ApiKeyRequired: route.public ? Match.absent() : true,
        Integration: Match.objectLike({
          Type: "AWS_PROXY",
          Uri: { "Fn::Join": ["", Match.arrayWith([{ "Fn::GetAtt": [handlerId, "Arn"] }])] },
        }),
      });
    }
    template.resourceCountIs("AWS::ApiGateway::Method", Object.keys(API_ROUTES).length);
  });

  it.each([
    ["iam", "AWS_IAM"],
    ["none", "NONE"],
  ] as const)("protects the classifier with authorization %s and no API key or usage plan when authMode is %s", (authMode, authorizationType) => {
    // Prepare
    const stack = bareStack();

    // Act
    new ClassifierApi(stack, "Api", { handler: collaborators(stack).handler, authMode });

    // Assess
    const template = Template.fromStack(stack);
    template.hasResourceProperties("AWS::ApiGateway::Method", { HttpMethod: "POST", AuthorizationType: authorizationType, ApiKeyRequired: Match.absent() });
    template.resourceCountIs("AWS::ApiGateway::ApiKey", 0);
    template.resourceCountIs("AWS::ApiGateway::UsagePlan", 0);
  });

  it("sends /gpu/{proxy+} to the GPU target's NLB through a VPC link, behind the API key", () => {
    // Prepare
    const stack = bareStack();
    const vpcLink = new Capture();

    // Act
    new ClassifierApi(stack, "Api", collaborators(stack));

    // Assess
    const template = Template.fromStack(stack);
    template.hasResourceProperties("AWS::ApiGateway::Method", {
      HttpMethod: "ANY",
      ApiKeyRequired: true,
      ResourceId: { Ref: Match.stringLikeRegexp("^Apigpuproxy") },
      Integration: Match.objectLike({
        Type: "HTTP_PROXY",
        ConnectionType: "VPC_LINK",
        ConnectionId: { Ref: vpcLink },
        Uri: "http://gpu.internal.example:80/{proxy}",
      }),
    });
    template.hasResourceProperties("AWS::ApiGateway::Resource", { PathPart: "{proxy+}" });
    expect(template.findResources("AWS::ApiGateway::VpcLink", { Properties: { TargetArns: [Match.stringLikeRegexp("loadbalancer/net/gpu/")] } })).toHaveProperty([
      vpcLink.asString(),
    ]);
  });

  it("serves the batching server's page, Swagger UI and their files under /gpu without a key, through the VPC link", () => {
    // Prepare
    const stack = bareStack();

    // Act
    new ClassifierApi(stack, "Api", collaborators(stack));

    // Assess
    const template = Template.fromStack(stack);
    const vpcLinkId = Object.keys(template.findResources("AWS::ApiGateway::VpcLink"))[0];
    const gpuId = Object.keys(template.findResources("AWS::ApiGateway::Resource", { Properties: { PathPart: "gpu" } }))[0];
    for (const name of WEB_ROUTE_NAMES) {
      const { path, method } = API_ROUTES[name];
      const parameter = path.endsWith("/{file}");
      template.hasResourceProperties("AWS::ApiGateway::Method", {
        HttpMethod: method,
        ResourceId: path === "/" ? { Ref: gpuId } : { Ref: Match.stringLikeRegexp(`^Apigpu${path.replace(/[^a-z]/gi, "")}`) },
        ApiKeyRequired: Match.absent(),
        AuthorizationType: "NONE",
        RequestParameters: parameter ? { "method.request.path.file": true } : Match.absent(),
        Integration: Match.objectLike({
          Type: "HTTP_PROXY",
          ConnectionType: "VPC_LINK",
          ConnectionId: { Ref: vpcLinkId },
          Uri: `http://gpu.internal.example:80${path}`,
          RequestParameters: parameter ? { "integration.request.path.file": "method.request.path.file" } : Match.absent(),
        }),
      });
    }
  });

  it("leaves the /gpu route and its VPC link out without a GPU target", () => {
    // Prepare
    const stack = bareStack();

    // Act
    new ClassifierApi(stack, "Api", { handler: collaborators(stack).handler });

    // Assess
    const template = Template.fromStack(stack);
    template.resourceCountIs("AWS::ApiGateway::VpcLink", 0);
    expect(template.findResources("AWS::ApiGateway::Resource", { Properties: { PathPart: "gpu" } })).toEqual({});
  });

  it("binds one API key to a usage plan", () => {
    // Prepare
    const stack = bareStack();

    // Act
    new ClassifierApi(stack, "Api", collaborators(stack));

    // Assess
    const template = Template.fromStack(stack);
    template.resourceCountIs("AWS::ApiGateway::UsagePlan", 1);
    template.resourceCountIs("AWS::ApiGateway::ApiKey", 1);
    template.resourceCountIs("AWS::ApiGateway::UsagePlanKey", 1);
  });

  it.each<[string, Partial<ClassifierApiProps>, { quota: number; rate: number; burst: number; lambda: number[]; gpu: number[] }]>([
    ["its defaults", {}, { quota: 100_000, rate: 100, burst: 200, lambda: [50, 100], gpu: [100, 200] }],
    [
      "its props, a method's burst capped by the stage's",
      { stageRateLimit: 30, stageBurstLimit: 40, lambdaRouteRateLimit: 7, gpuRouteRateLimit: 25, dailyQuota: 10 },
      { quota: 10, rate: 30, burst: 40, lambda: [7, 14], gpu: [25, 40] },
    ],
  ])("sets the daily quota, the stage throttle and separate Lambda and GPU method throttles from %s", (_name, props, expected) => {
    // Prepare
    const stack = bareStack();
    const throttle = ([RateLimit, BurstLimit]: number[]) => ({ RateLimit, BurstLimit });

    // Act
    new ClassifierApi(stack, "Api", { ...collaborators(stack), ...props });

    // Assess
    const template = Template.fromStack(stack);
    template.hasResourceProperties("AWS::ApiGateway::UsagePlan", {
      Quota: { Limit: expected.quota, Period: "DAY" },
      Throttle: { RateLimit: expected.rate, BurstLimit: expected.burst },
      ApiStages: [
        Match.objectLike({
          Throttle: { "/pneumonia_classifier/POST": throttle(expected.lambda), "/gpu/{proxy+}/ANY": throttle(expected.gpu) },
        }),
      ],
    });
    template.hasResourceProperties("AWS::ApiGateway::Stage", {
      MethodSettings: Match.arrayWith([Match.objectLike({ ThrottlingRateLimit: expected.rate, ThrottlingBurstLimit: expected.burst })]),
    });
  });

  it("logs access to its own log group, logs errors and metrics, and traces", () => {
    // Prepare
    const stack = bareStack();
    const accessLogs = new Capture();

    // Act
    new ClassifierApi(stack, "Api", { handler: collaborators(stack).handler });

    // Assess
    const template = Template.fromStack(stack);
    template.hasResourceProperties("AWS::ApiGateway::Stage", {
      StageName: "prod",
      AccessLogSetting: Match.objectLike({ DestinationArn: { "Fn::GetAtt": [accessLogs, "Arn"] } }),
      TracingEnabled: true,
      MethodSettings: Match.arrayWith([Match.objectLike({ LoggingLevel: "ERROR", MetricsEnabled: true })]),
    });
    expect(template.findResources("AWS::Logs::LogGroup", { Properties: { RetentionInDays: 30 } })).toHaveProperty([accessLogs.asString()]);
  });

  it.each<[Partial<ClassifierApiProps>, RegExp]>([
    [{ stageRateLimit: 0 }, /^ClassifierApiProps\.stageRateLimit=0 is invalid: give an integer from 1 to 10000\.$/],
    [{ stageBurstLimit: 5001 }, /stageBurstLimit=5001 is invalid: give an integer from 1 to 5000/],
    [{ lambdaRouteRateLimit: 1.5 }, /lambdaRouteRateLimit=1\.5 is invalid: give an integer from 1 to 10000/],
    [{ gpuRouteRateLimit: 20_000 }, /gpuRouteRateLimit=20000 is invalid: give an integer from 1 to 10000/],
    [{ dailyQuota: 0 }, /dailyQuota=0 is invalid: give an integer from 1 to 100000000/],
  ])("refuses %o with a message naming the value and the fix", (props, message) => {
    // Prepare
    const stack = bareStack();
    const { handler } = collaborators(stack);

    // Act
    const act = () => new ClassifierApi(stack, "Api", { handler, ...props });

    // Assess
    expect(act).toThrowError(message);
  });
});
