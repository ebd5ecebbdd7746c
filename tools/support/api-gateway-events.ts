import type { APIGatewayProxyEvent, APIGatewayProxyEventV2 } from "aws-lambda";

/** What a test says about a request; the builders below dress it as an API Gateway event. */
export interface RequestSpec {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: Buffer;
  /** Whether API Gateway base64-encoded the body (binary media type); default true when there is a body. */
  base64?: boolean;
  /** The query string's parameters, each with its values in order. @default - none */
  query?: Record<string, string[]>;
}

function encodeBody({ body, base64 }: RequestSpec) {
  if (!body || body.length === 0) return { body: null, isBase64Encoded: false };
  const encoded = base64 ?? true;
  return { body: body.toString(encoded ? "base64" : "latin1"), isBase64Encoded: encoded };
}

/** A REST API (payload 1.0) proxy event, shaped as API Gateway sends it. */
export function restApiEvent(spec: RequestSpec): APIGatewayProxyEvent {
  const { method = "POST", path = "/pneumonia_classifier", headers = {} } = spec;
  return {
    resource: path,
    path,
    httpMethod: method,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    // As API Gateway fills them: the last value of each parameter, and all of them.
    queryStringParameters: spec.query ? Object.fromEntries(Object.entries(spec.query).map(([k, v]) => [k, v.at(-1)!])) : null,
    multiValueQueryStringParameters: spec.query ?? null,
    pathParameters: null,
    stageVariables: null,
    ...encodeBody(spec),
    requestContext: {
      accountId: "123456789012",
      apiId: "abc123defg",
      authorizer: null,
      protocol: "HTTP/1.1",
      httpMethod: method,
      path: `/prod${path}`,
      stage: "prod",
      requestId: "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
      requestTimeEpoch: 1764086400000,
      resourceId: "abcdef",
      resourcePath: path,
      identity: {
        accessKey: null, accountId: null, apiKey: null, apiKeyId: null, caller: null, clientCert: null,
        cognitoAuthenticationProvider: null, cognitoAuthenticationType: null, cognitoIdentityId: null,
        cognitoIdentityPoolId: null, principalOrgId: null, sourceIp: "203.0.113.7", user: null,
        userAgent: "curl/8.5.0", userArn: null,
      },
    },
  };
}

/** An HTTP API (payload 2.0) proxy event on a named stage, so rawPath carries the stage prefix. */
export function httpApiEvent(spec: RequestSpec): APIGatewayProxyEventV2 {
  const { method = "POST", path = "/pneumonia_classifier", headers = {} } = spec;
  return {
    version: "2.0",
    routeKey: `${method} ${path}`,
    rawPath: `/prod${path}`,
    rawQueryString: new URLSearchParams(Object.entries(spec.query ?? {}).flatMap(([k, values]) => values.map((v): [string, string] => [k, v]))).toString(),
    headers,
    ...encodeBody(spec),
    body: encodeBody(spec).body ?? undefined,
    requestContext: {
      accountId: "123456789012",
      apiId: "abc123defg",
      domainName: "abc123defg.execute-api.eu-west-1.amazonaws.com",
      domainPrefix: "abc123defg",
      http: { method, path: `/prod${path}`, protocol: "HTTP/1.1", sourceIp: "203.0.113.7", userAgent: "curl/8.5.0" },
      requestId: "JKJaXmPLvHcESHA=",
      routeKey: `${method} ${path}`,
      stage: "prod",
      time: "25/Nov/2026:17:00:00 +0000",
      timeEpoch: 1764086400000,
    },
  };
}

/** A Lambda context for handler tests. */
export const lambdaContext = {
  callbackWaitsForEmptyEventLoop: true,
  functionName: "pneumonia-classifier-test",
  functionVersion: "$LATEST",
  invokedFunctionArn: "arn:aws:lambda:eu-west-1:123456789012:function:pneumonia-classifier-test",
  memoryLimitInMB: "1024",
  awsRequestId: "11111111-2222-3333-4444-555555555555",
  logGroupName: "/aws/lambda/pneumonia-classifier-test",
  logStreamName: "test",
  getRemainingTimeInMillis: () => 30_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
};
