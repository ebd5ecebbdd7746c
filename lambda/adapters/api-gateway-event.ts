import type {
  APIGatewayProxyEvent,
  APIGatewayProxyEventV2,
  APIGatewayProxyResult,
  APIGatewayProxyStructuredResultV2,
} from "aws-lambda";
import type { CoreRequest, CoreResponse } from "../core/http/http-types.js";

/** The proxy events API Gateway sends: REST APIs (payload 1.0) and HTTP APIs (payload 2.0). */
export type ApiGatewayEvent = APIGatewayProxyEvent | APIGatewayProxyEventV2;
export type ApiGatewayResult = APIGatewayProxyResult | APIGatewayProxyStructuredResultV2;

/** Tells a payload 2.0 event from a 1.0 one, as Lambda's own docs do: by its version field. */
export function isPayloadV2(event: ApiGatewayEvent): event is APIGatewayProxyEventV2 {
  return (event as APIGatewayProxyEventV2).version === "2.0";
}

/** Header names lower-cased; for repeated headers of a 1.0 event, the first value. */
function lowerCaseHeaders(...sources: (Record<string, string | string[] | undefined> | null | undefined)[]) {
  const headers: Record<string, string> = {};
  for (const source of sources) {
    for (const [name, value] of Object.entries(source ?? {})) {
      const first = Array.isArray(value) ? value[0] : value;
      if (first !== undefined) headers[name.toLowerCase()] ??= first;
    }
  }
  return headers;
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
      headers: lowerCaseHeaders(event.headers),
      body: decodeBody(event.body, event.isBase64Encoded),
    };
  }
  return {
    method: event.httpMethod.toUpperCase(),
    path: event.path,
    headers: lowerCaseHeaders(event.headers, event.multiValueHeaders),
    body: decodeBody(event.body, event.isBase64Encoded),
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
