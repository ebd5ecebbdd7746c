import type {
  Context,
  APIGatewayProxyEvent,
  APIGatewayProxyEventV2,
  APIGatewayProxyResult,
  APIGatewayProxyStructuredResultV2,
} from "aws-lambda";
import { headerMap, type CoreRequest, type CoreResponse } from "../core/http/http-types.js";

/** The proxy events API Gateway sends: REST APIs (payload 1.0) and HTTP APIs (payload 2.0). */
export type ApiGatewayEvent = APIGatewayProxyEvent | APIGatewayProxyEventV2;
export type ApiGatewayResult = APIGatewayProxyResult | APIGatewayProxyStructuredResultV2;

/** A Lambda handler of those events, as AWS calls it and the local front does. */
export type ProxyHandler = (event: ApiGatewayEvent, context: Context) => Promise<ApiGatewayResult>;

/** Tells a payload 2.0 event from a 1.0 one, as Lambda's own docs do: by its version field. */
export function isPayloadV2(event: ApiGatewayEvent): event is APIGatewayProxyEventV2 {
  return (event as APIGatewayProxyEventV2).version === "2.0";
}

/** The (name, value) lines of a header map, or of a multi-value one; names without a value are left out. */
function headerLines(headers: Record<string, string | string[] | undefined> | null | undefined): [string, string][] {
  return Object.entries(headers ?? {}).flatMap(([name, value]) => [value ?? []].flat().map((one): [string, string] => [name, one]));
}

function decodeBody(body: string | null | undefined, isBase64Encoded: boolean): Buffer {
  if (!body) return Buffer.alloc(0);
  return Buffer.from(body, isBase64Encoded ? "base64" : "utf8");
}

/** Path of a 2.0 event without the stage prefix that named stages (not $default) put into rawPath. */
function pathWithoutStage(event: APIGatewayProxyEventV2): string {
  const stagePrefix = `/${event.requestContext.stage}`;
  const path = event.rawPath;
  return event.requestContext.stage !== "$default" && path.startsWith(`${stagePrefix}/`) ? path.slice(stagePrefix.length) : path;
}

/** Translates an API Gateway proxy event into the core's request. */
export function toCoreRequest(event: ApiGatewayEvent): CoreRequest {
  if (isPayloadV2(event)) {
    return {
      method: event.requestContext.http.method.toUpperCase(),
      path: pathWithoutStage(event),
      // API Gateway has joined a repeated header's values with commas already.
      headers: headerMap(headerLines(event.headers)),
      body: decodeBody(event.body, event.isBase64Encoded),
      query: new URLSearchParams(event.rawQueryString ?? ""),
    };
  }
  return {
    method: event.httpMethod.toUpperCase(),
    path: event.path,
    // Every line is in multiValueHeaders; `headers` keeps only the last value of a repeated one, and stands
    // alone only in events without a multi-value map (hand-written ones, say).
    headers: headerMap(headerLines(Object.keys(event.multiValueHeaders ?? {}).length > 0 ? event.multiValueHeaders : event.headers)),
    body: decodeBody(event.body, event.isBase64Encoded),
    // As with headers: every value is in the multi-value map, which hand-written events may leave out.
    query: new URLSearchParams(headerLines(event.multiValueQueryStringParameters ?? event.queryStringParameters)),
  };
}

/** API Gateway's own request id, for correlating our logs with its access logs. */
export function apiRequestIdOf(event: ApiGatewayEvent): string | undefined {
  return event.requestContext?.requestId;
}

/** Translates the core's response into the proxy result both payload versions accept. */
export function toProxyResult(response: CoreResponse): ApiGatewayResult {
  return { statusCode: response.statusCode, headers: response.headers, body: response.body, isBase64Encoded: false };
}

/** What API Gateway makes of a proxy result: a bare string is a 200 body, a base64 body is decoded. */
export function fromProxyResult(result: ApiGatewayResult): { statusCode: number; headers: Record<string, string>; body: Buffer } {
  const { statusCode = 200, headers = {}, body = "", isBase64Encoded = false } = typeof result === "string" ? { body: result } : result;
  return {
    statusCode,
    headers: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, String(value)])),
    body: Buffer.from(body, isBase64Encoded ? "base64" : "utf8"),
  };
}
