import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { APIGatewayProxyEvent, Context } from "aws-lambda";
import { FORM_LIMITS, PLATFORM_LIMITS } from "../core/limits.js";
import { ERROR_CODES, InternalError, PayloadTooLargeError, type ApiError } from "../core/errors.js";
import { BINARY_MEDIA_TYPES } from "../core/http/http-types.js";
import { mediaTypeOf } from "../core/http/multipart.js";
import type { ApiGatewayEvent, ApiGatewayResult } from "./api-gateway-event.js";
import { readBody } from "./request-body.js";

/** The Lambda handler the local front calls, as AWS would. */
export type ProxyHandler = (event: ApiGatewayEvent, context: Context) => Promise<ApiGatewayResult>;

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

/** A Lambda context like the one `sam local` passes: enough for logging and timeouts. */
function localContext(): Context {
  const deadline = Date.now() + 30_000;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: "pneumonia-classifier-local",
    functionVersion: "$LATEST",
    invokedFunctionArn: "arn:aws:lambda:local:123456789012:function:pneumonia-classifier-local",
    memoryLimitInMB: "1024",
    awsRequestId: randomUUID(),
    logGroupName: "/aws/lambda/pneumonia-classifier-local",
    logStreamName: "local",
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

function writeError(response: ServerResponse, error: ApiError, onSent?: () => void): void {
  const { statusCode, headers, body } = error.toResponse();
  response.writeHead(statusCode, headers);
  response.end(body, onSent);
}

function writeResult(response: ServerResponse, result: ApiGatewayResult): void {
  const { statusCode = 200, headers = {}, body = "", isBase64Encoded = false } = typeof result === "string" ? { body: result } : result;
  response.writeHead(statusCode, headers as Record<string, string>);
  response.end(Buffer.from(body, isBase64Encoded ? "base64" : "utf8"));
}

/**
 * The local HTTP front: turns each HTTP request into the event API Gateway would send and answers with
 * what the Lambda handler returns. Bodies over API Gateway's 10 MB limit, and events over Lambda's 6 MB
 * invoke limit, are refused here with 413, as the fallback rule in the README expects of the deployed API.
 */
export function createLocalApi(handler: ProxyHandler): Server {
  return createServer((request, response) => {
    void (async () => {
      const read = await readBody(request, FORM_LIMITS.maxBodyBytes);
      if (!("body" in read)) {
        const message = `The request body is over API Gateway's ${FORM_LIMITS.maxBodyBytes / 2 ** 20} MiB limit; send a smaller image.`;
        response.setHeader("connection", "close");
        writeError(response, new PayloadTooLargeError(ERROR_CODES.payloadTooLarge, message), () => request.destroy());
        return;
      }
      const event = toRestApiEvent(request, read.body);
      if (eventSizeBytes(event) > PLATFORM_LIMITS.lambdaInvokePayloadBytes) {
        const message = `The request is over Lambda's ${PLATFORM_LIMITS.lambdaInvokePayloadBytes / 2 ** 20} MiB invoke limit once base64-encoded; send a smaller image, or send it to the GPU route (/gpu/pneumonia_classifier).`;
        writeError(response, new PayloadTooLargeError(ERROR_CODES.payloadTooLarge, message));
        return;
      }
      writeResult(response, await handler(event, localContext()));
    })().catch((error: unknown) => {
      // The handler maps every error itself; reaching here means the connection broke mid-request.
      if (!response.headersSent) {
        writeError(response, new InternalError("The local front failed; send the request again.", { cause: error }));
      } else response.destroy();
    });
  });
}
