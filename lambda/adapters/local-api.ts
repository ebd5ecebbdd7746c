import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { APIGatewayProxyEvent, Context } from "aws-lambda";
import { LAMBDA_FUNCTION, PLATFORM_LIMITS } from "../core/limits.js";
import { BINARY_MEDIA_TYPES } from "../core/http/http-types.js";
import { mediaTypeOf } from "../core/http/multipart.js";
import { bodyTooLargeError, type ApiHost } from "../core/http/api-host.js";
import { fromProxyResult, type ProxyHandler } from "./api-gateway-event.js";
import { createNodeHttpFront, type NodeHttpFront } from "./node-http.js";

const STAGE = "local";

/** The REST API (payload 1.0) proxy event API Gateway would send for this request. */
export function toRestApiEvent(request: IncomingMessage, body: Buffer): APIGatewayProxyEvent {
  const url = new URL(request.url ?? "/", "http://localhost");
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (let i = 0; i < request.rawHeaders.length; i += 2) {
    const [name, value] = [request.rawHeaders[i]!, request.rawHeaders[i + 1]!];
    headers[name] = value;
    (multiValueHeaders[name] ??= []).push(value);
  }
  const query = [...url.searchParams.keys()];
  const isBinary = BINARY_MEDIA_TYPES.some((type) => mediaTypeOf(request.headers["content-type"])?.startsWith(type));
  const requestId = randomUUID();
  return {
    resource: url.pathname,
    path: url.pathname,
    httpMethod: request.method ?? "GET",
    headers,
    multiValueHeaders,
    queryStringParameters: query.length ? Object.fromEntries(url.searchParams) : null,
    multiValueQueryStringParameters: query.length ? Object.fromEntries(query.map((k) => [k, url.searchParams.getAll(k)])) : null,
    pathParameters: null,
    stageVariables: null,
    body: body.length === 0 ? null : body.toString(isBinary ? "base64" : "utf8"),
    isBase64Encoded: isBinary && body.length > 0,
    requestContext: {
      accountId: "123456789012",
      apiId: "local",
      authorizer: null,
      protocol: `HTTP/${request.httpVersion}`,
      httpMethod: request.method ?? "GET",
      path: `/${STAGE}${url.pathname}`,
      stage: STAGE,
      requestId,
      requestTimeEpoch: Date.now(),
      resourceId: "local",
      resourcePath: url.pathname,
      identity: {
        accessKey: null, accountId: null, apiKey: null, apiKeyId: null, caller: null, clientCert: null,
        cognitoAuthenticationProvider: null, cognitoAuthenticationType: null, cognitoIdentityId: null,
        cognitoIdentityPoolId: null, principalOrgId: null, sourceIp: request.socket.remoteAddress ?? "127.0.0.1",
        user: null, userAgent: request.headers["user-agent"] ?? null, userArn: null,
      },
    },
  };
}

/**
 * Bytes of the event as Lambda receives it (JSON). A base64 body needs no JSON escaping, so its length is
 * added as is rather than serialising megabytes of it a second time.
 */
function eventSizeBytes(event: APIGatewayProxyEvent): number {
  const body = event.isBase64Encoded && event.body ? event.body.length : 0;
  return Buffer.byteLength(JSON.stringify(body ? { ...event, body: "" } : event)) + body;
}

/**
 * A Lambda context like the one `sam local` passes: enough for logging and timeouts. Its memory is the
 * deployed function's (AWS_LAMBDA_FUNCTION_MEMORY_SIZE, as Lambda sets it, else the stack's default).
 */
export function localContext(env: NodeJS.ProcessEnv = process.env): Context {
  const deadline = Date.now() + 30_000;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: "pneumonia-classifier-local",
    functionVersion: "$LATEST",
    invokedFunctionArn: "arn:aws:lambda:local:123456789012:function:pneumonia-classifier-local",
    memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE?.trim() || String(LAMBDA_FUNCTION.memoryMb),
    awsRequestId: randomUUID(),
    logGroupName: "/aws/lambda/pneumonia-classifier-local",
    logStreamName: "local",
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/**
 * The local HTTP front of `npm start`: turns each HTTP request into the event API Gateway would send and
 * answers with what the Lambda handler returns. Bodies over the Lambda route's limit, and events over
 * Lambda's invoke limit (headers count too), are refused here with 413, as the deployed route refuses them.
 */
export function createLocalApi(handler: ProxyHandler, host: ApiHost): NodeHttpFront {
  return createNodeHttpFront(
    async (request, body) => {
      const event = toRestApiEvent(request, body);
      if (eventSizeBytes(event) > PLATFORM_LIMITS.lambdaInvokePayloadBytes) throw bodyTooLargeError(host);
      return fromProxyResult(await handler(event, localContext()));
    },
    { maxBodyBytes: host.maxBodyBytes, tooLarge: () => bodyTooLargeError(host) },
  );
}
