import type { APIGatewayProxyEvent, Context } from "aws-lambda";
import { afterEach, describe, expect, it } from "vitest";
import { createLocalApi, localContext } from "../../lambda/adapters/local-api.js";
import { appHandler, createNodeHttpFront, type NodeHttpFront } from "../../lambda/adapters/node-http.js";
import { toCoreRequest, toProxyResult, type ApiGatewayEvent, type ProxyHandler } from "../../lambda/adapters/api-gateway-event.js";
import { API_HOSTS } from "../../lambda/core/http/api-host.js";
import { jsonResponse } from "../../lambda/core/http/http-types.js";
import { FORM_LIMITS, LAMBDA_FUNCTION } from "../../lambda/core/limits.js";
import { rawRequest } from "../support/raw-request.js";

const fronts: NodeHttpFront[] = [];
afterEach(async () => {
  await Promise.all(fronts.splice(0).map((front) => front.drain(1000)));
});

/** A local front whose handler records what it is called with and answers the core's view of the request's headers. */
async function localFront() {
  const calls: { event: APIGatewayProxyEvent; context: Context }[] = [];
  const handler: ProxyHandler = async (event: ApiGatewayEvent, context: Context) => {
    calls.push({ event: event as APIGatewayProxyEvent, context });
    return toProxyResult(jsonResponse(200, toCoreRequest(event).headers));
  };
  const front = createLocalApi(handler, API_HOSTS.local);
  fronts.push(front);
  return { url: await front.listen(0, "127.0.0.1"), calls };
}

describe("createLocalApi", () => {
  it("hands the handler the REST API event API Gateway would send, a form's body base64-encoded", async () => {
    // Prepare
    const { url, calls } = await localFront();
    const body = Buffer.from([0, 1, 2, 255, 254]);
    // Act
    const answer = await rawRequest(`${url}/pneumonia_classifier?debug=1`, body, { "content-type": "multipart/form-data; boundary=x" });
    // Assess
    expect(answer.status).toBe(200);
    const { event } = calls[0]!;
    expect(event).toMatchObject({ httpMethod: "POST", path: "/pneumonia_classifier", isBase64Encoded: true, queryStringParameters: { debug: "1" } });
    expect(event.requestContext.stage).toBe("local");
    expect(Buffer.from(event.body!, "base64").equals(body)).toBe(true);
  });

  it("gives the handler a Lambda context with the deployed function's memory", async () => {
    // Prepare
    const { url, calls } = await localFront();
    // Act
    await rawRequest(`${url}/health`, Buffer.alloc(0), {}, "GET");
    // Assess
    expect(calls[0]!.context.memoryLimitInMB).toBe(String(LAMBDA_FUNCTION.memoryMb));
    expect(LAMBDA_FUNCTION.memoryMb).toBe(1769);
  });

  it("takes the context's memory from AWS_LAMBDA_FUNCTION_MEMORY_SIZE, as Lambda sets it", () => {
    // Act
    const context = localContext({ AWS_LAMBDA_FUNCTION_MEMORY_SIZE: "3008" });
    // Assess
    expect(context.memoryLimitInMB).toBe("3008");
  });

  it("refuses a body over the Lambda route's limit with a 413 that points to the batching server, without calling the handler", async () => {
    // Prepare
    const { url, calls } = await localFront();
    // Act
    const answer = await rawRequest(`${url}/pneumonia_classifier`, Buffer.alloc(FORM_LIMITS.maxLambdaBodyBytes + 1), { "content-type": "multipart/form-data; boundary=x" });
    // Assess
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body).error.message).toContain("npm run start:gpu");
    expect(calls).toEqual([]);
  });

  it("refuses an event that its headers push over Lambda's invoke limit with the same 413", async () => {
    // Prepare: a body at the limit, which leaves room for a curl-sized event but not for 8 KiB more of headers
    const { url, calls } = await localFront();
    const headers = { "content-type": "multipart/form-data; boundary=x", "x-padding": "p".repeat(8 * 1024) };
    // Act
    const answer = await rawRequest(`${url}/pneumonia_classifier`, Buffer.alloc(FORM_LIMITS.maxLambdaBodyBytes), headers);
    // Assess
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body).error.message).toContain("npm run start:gpu");
    expect(calls).toEqual([]);
  });

  it("gives a repeated header the meaning the batching server's front gives it", async () => {
    // Prepare: the batching server's front, answering the headers its app sees
    const batching = createNodeHttpFront(appHandler(async (request) => jsonResponse(200, request.headers)), {
      maxBodyBytes: 1024,
      tooLarge: () => {
        throw new Error("no body here is over the limit");
      },
    });
    fronts.push(batching);
    const batchingUrl = await batching.listen(0, "127.0.0.1");
    const { url } = await localFront();
    const lines = (target: string) => ["Host", new URL(target).host, "Content-Encoding", "identity", "content-encoding", "gzip", "X-Trace", "a"];
    // Act
    const local = JSON.parse((await rawRequest(url, Buffer.alloc(0), lines(url))).body);
    const direct = JSON.parse((await rawRequest(batchingUrl, Buffer.alloc(0), lines(batchingUrl))).body);
    // Assess
    expect(local["content-encoding"]).toBe("identity, gzip");
    expect(direct["content-encoding"]).toBe(local["content-encoding"]);
    expect(direct["x-trace"]).toBe(local["x-trace"]);
  });
});
