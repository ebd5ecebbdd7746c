import { RemovalPolicy, Validations } from "aws-cdk-lib";
import * as apigw from "aws-cdk-lib/aws-apigateway";
import type * as elbv2 from "aws-cdk-lib/aws-elasticloadbalancingv2";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import { API_ROUTES, WEB_ROUTE_NAMES } from "../lambda/core/http/routes.js";
import { BINARY_MEDIA_TYPES } from "../lambda/core/http/http-types.js";
import { DEFAULT_LOG_RETENTION } from "./log-retention.js";
import { checkInteger, withDefaults } from "./construct-props.js";

/** How clients authenticate on the protected routes: an API key with a usage plan, SigV4, or nothing. */
export const AUTH_MODES = ["apiKey", "iam", "none"] as const;
export type AuthMode = (typeof AUTH_MODES)[number];

const AUTHORIZATION_REASONS: Record<AuthMode | "public", string> = {
  apiKey: "Clients authenticate with an API key bound to a usage plan (rate, burst, daily quota); Cognito users do not fit machine clients. authMode=iam gives SigV4 instead.",
  iam: "Clients sign requests with SigV4 (authMode=iam), which API Gateway checks; no Cognito user pool is needed.",
  none: "Deployed with authMode=none on purpose, for a private test stage; the default is an API key.",
  public:
    "Public on purpose: health for load balancers and monitors; the OpenAPI document, Swagger UI, the web page and their scripts and styles for browsers, which send the API key themselves when they classify. They carry no patient data.",
};

/** Records why a method has no Cognito authorizer (AwsSolutions-APIG4, COG4). */
function acknowledgeAuthorization(method: apigw.Method, mode: AuthMode | "public"): void {
  const reason = AUTHORIZATION_REASONS[mode];
  Validations.of(method).acknowledge({ id: "AwsSolutions-APIG4", reason }, { id: "AwsSolutions-COG4", reason });
}

/** The GPU service as the API reaches it: an internal NLB behind a VPC link. */
export interface GpuTarget {
  readonly loadBalancer: elbv2.INetworkLoadBalancer;
  /** Listener port on the NLB. */
  readonly port: number;
}

export interface ClassifierApiProps {
  /** Function (usually the `live` alias) that serves every route of lambda/core/http/routes.ts. */
  readonly handler: lambda.IFunction;
  /** GPU service for /gpu/...; none leaves the route out. @default - no GPU route */
  readonly gpu?: GpuTarget;
  /** @default "apiKey" */
  readonly authMode?: AuthMode;
  /** Requests per second for the whole stage, and per key, from 1 to 10000. @default 100 */
  readonly stageRateLimit?: number;
  /** Burst for the whole stage, and per key, from 1 to 5000. @default 200 */
  readonly stageBurstLimit?: number;
  /** Usage-plan limit of POST /pneumonia_classifier per key, from 1 to 10000. @default 50 */
  readonly lambdaRouteRateLimit?: number;
  /** Usage-plan limit of /gpu/... per key, from 1 to 10000. @default 100 */
  readonly gpuRouteRateLimit?: number;
  /** Requests a day per key, from 1 to 100000000. @default 100000 */
  readonly dailyQuota?: number;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
}

/** What ClassifierApi builds with when a prop is left out. */
export const CLASSIFIER_API_DEFAULTS = {
  authMode: "apiKey",
  stageRateLimit: 100,
  stageBurstLimit: 200,
  lambdaRouteRateLimit: 50,
  gpuRouteRateLimit: 100,
  dailyQuota: 100_000,
  logRetention: DEFAULT_LOG_RETENTION,
} as const;

/** What ClassifierApi accepts. */
export const CLASSIFIER_API_LIMITS = {
  stageRateLimit: { min: 1, max: 10_000 },
  stageBurstLimit: { min: 1, max: 5000 },
  lambdaRouteRateLimit: { min: 1, max: 10_000 },
  gpuRouteRateLimit: { min: 1, max: 10_000 },
  dailyQuota: { min: 1, max: 100_000_000 },
} as const;

/** The props with their defaults, checked; throws naming the prop, the value and the fix. */
function resolveProps(props: ClassifierApiProps) {
  const resolved = withDefaults(props, CLASSIFIER_API_DEFAULTS);
  for (const prop of Object.keys(CLASSIFIER_API_LIMITS) as (keyof typeof CLASSIFIER_API_LIMITS)[]) {
    checkInteger("ClassifierApiProps", prop, resolved[prop], CLASSIFIER_API_LIMITS[prop]);
  }
  return resolved;
}

/**
 * The public REST API: the article's POST /pneumonia_classifier and the health, OpenAPI, docs, web page and
 * web file routes on the Lambda function; /gpu/{proxy+} on the GPU service through a VPC link.
 * multipart/form-data and images are binary media types, so uploads reach the handler byte for byte.
 */
export class ClassifierApi extends Construct {
  readonly api: apigw.RestApi;
  readonly accessLogs: logs.LogGroup;
  /** Set when authMode is "apiKey". */
  readonly apiKey?: apigw.IApiKey;
  readonly usagePlan?: apigw.UsagePlan;
  readonly classifyMethod: apigw.Method;
  readonly gpuMethod?: apigw.Method;

  constructor(scope: Construct, id: string, props: ClassifierApiProps) {
    super(scope, id);
    const resolved = resolveProps(props);
    const { authMode, stageBurstLimit: burst } = resolved;
    this.accessLogs = new logs.LogGroup(this, "AccessLogs", {
      retention: resolved.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.api = new apigw.RestApi(this, "Api", {
      description: "Chest X-ray pneumonia classifier",
      binaryMediaTypes: [...BINARY_MEDIA_TYPES],
      endpointTypes: [apigw.EndpointType.REGIONAL],
      cloudWatchRole: true,
      deployOptions: {
        stageName: "prod",
        accessLogDestination: new apigw.LogGroupLogDestination(this.accessLogs),
        accessLogFormat: apigw.AccessLogFormat.jsonWithStandardFields(),
        loggingLevel: apigw.MethodLoggingLevel.ERROR,
        metricsEnabled: true,
        tracingEnabled: true,
        throttlingRateLimit: resolved.stageRateLimit,
        throttlingBurstLimit: burst,
      },
    });
    const protectedRoute: apigw.MethodOptions =
      authMode === "apiKey" ? { apiKeyRequired: true } : authMode === "iam" ? { authorizationType: apigw.AuthorizationType.IAM } : {};
    // API Gateway checks required parameters; body checks apply only to methods with a model, and none has
    // one: a multipart X-ray cannot be described by a JSON schema, so the handler checks the form itself.
    const requestValidator = this.api.addRequestValidator("RequestValidator", {
      validateRequestParameters: true,
      validateRequestBody: true,
    });
    const lambdaIntegration = new apigw.LambdaIntegration(resolved.handler, { proxy: true });
    const methods = Object.values(API_ROUTES).map((route) => {
      const method = this.api.root
        .resourceForPath(route.path)
        .addMethod(route.method, lambdaIntegration, { requestValidator, ...(route.public ? {} : protectedRoute) });
      acknowledgeAuthorization(method, route.public ? "public" : authMode);
      return method;
    });
    this.classifyMethod = methods[Object.keys(API_ROUTES).indexOf("classify")]!;

    if (resolved.gpu) {
      this.gpuMethod = this.addGpuRoute(resolved.gpu, { requestValidator, ...protectedRoute });
      acknowledgeAuthorization(this.gpuMethod, authMode);
    }
    Validations.of(this.api).acknowledge({
      id: "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]",
      reason: "AWS-maintained policy for the account-level role API Gateway needs to write execution logs; it grants only CloudWatch Logs writes.",
    });

    if (authMode === "apiKey") {
      const methodThrottle = (method: apigw.Method, rateLimit: number): apigw.ThrottlingPerMethod => ({
        method,
        throttle: { rateLimit, burstLimit: Math.min(burst, rateLimit * 2) },
      });
      this.usagePlan = this.api.addUsagePlan("UsagePlan", {
        description: "Per-key limits; the Lambda and GPU routes are throttled apart so a client can fall back",
        throttle: { rateLimit: resolved.stageRateLimit, burstLimit: burst },
        quota: { limit: resolved.dailyQuota, period: apigw.Period.DAY },
        apiStages: [
          {
            api: this.api,
            stage: this.api.deploymentStage,
            throttle: [
              methodThrottle(this.classifyMethod, resolved.lambdaRouteRateLimit),
              ...(this.gpuMethod ? [methodThrottle(this.gpuMethod, resolved.gpuRouteRateLimit)] : []),
            ],
          },
        ],
      });
      this.apiKey = this.api.addApiKey("ApiKey", { description: "Default client key of the pneumonia classifier" });
      this.usagePlan.addApiKey(this.apiKey);
    }
  }

  private addGpuRoute(gpu: GpuTarget, options: apigw.MethodOptions): apigw.Method {
    const vpcLink = new apigw.VpcLink(this, "GpuVpcLink", {
      description: "Private path from API Gateway to the GPU service's internal NLB",
      targets: [gpu.loadBalancer],
    });
    /** An HTTP proxy to a path of the batching server, its {name} parameters passed on. */
    const toServer = (path: string, parameters: readonly string[]) =>
      new apigw.Integration({
        type: apigw.IntegrationType.HTTP_PROXY,
        integrationHttpMethod: "ANY",
        uri: `http://${gpu.loadBalancer.loadBalancerDnsName}:${gpu.port}${path}`,
        options: {
          connectionType: apigw.ConnectionType.VPC_LINK,
          vpcLink,
          ...(parameters.length > 0 && {
            requestParameters: Object.fromEntries(parameters.map((name) => [`integration.request.path.${name}`, `method.request.path.${name}`])),
          }),
        },
      });
    const pathParameters = (parameters: readonly string[]) =>
      parameters.length > 0 ? Object.fromEntries(parameters.map((name) => [`method.request.path.${name}`, true])) : undefined;
    const gpuResource = this.api.root.addResource("gpu");
    // The batching server's page, Swagger UI and their files, public as on the Lambda route: a browser loads
    // them without a key, and the page sends the key with each X-ray it posts under /gpu/{proxy+}.
    for (const name of WEB_ROUTE_NAMES) {
      const { path, method } = API_ROUTES[name];
      const parameters = path.endsWith("/{file}") ? ["file"] : [];
      const webMethod = gpuResource
        .resourceForPath(path.slice(1))
        .addMethod(method, toServer(path, parameters), { requestValidator: options.requestValidator, requestParameters: pathParameters(parameters) });
      acknowledgeAuthorization(webMethod, "public");
    }
    return gpuResource.addResource("{proxy+}").addMethod("ANY", toServer("/{proxy}", ["proxy"]), { ...options, requestParameters: pathParameters(["proxy"]) });
  }
}
