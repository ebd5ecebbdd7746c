import { describe, expect, it } from "vitest";
import { createHandler, handler } from "../../lambda/handler.js";
import { lambdaHost } from "../../lambda/core/http/api-host.js";
import type { ApiGatewayEvent } from "../../lambda/adapters/api-gateway-event.js";
import { httpApiEvent, lambdaContext, restApiEvent, type RequestSpec } from "../../tools/support/api-gateway-events.js";
import { anyXray, imageForm } from "../../tools/support/forms.js";
import { IMAGE_LIMITS } from "../../lambda/core/limits.js";
import { SERVED_INPUT } from "../support/served-model.js";

const EVENT_VERSIONS = [
  ["REST API (payload 1.0)", restApiEvent],
  ["HTTP API (payload 2.0)", httpApiEvent],
] as const;

async function invoke(event: ApiGatewayEvent) {
  const result = await handler(event, lambdaContext);
  if (typeof result === "string") throw new Error("the handler answered a bare string");
  return { status: result.statusCode, headers: result.headers ?? {}, json: JSON.parse(result.body ?? "null") };
}

async function xrayRequest(overrides: Partial<RequestSpec> = {}): Promise<RequestSpec> {
  const { body, contentType } = await imageForm(await anyXray());
  return { body, headers: { "Content-Type": contentType }, ...overrides };
}

describe.each(EVENT_VERSIONS)("handler with %s events", (_name, buildEvent) => {
  it("classifies a real X-ray sent as base64 multipart", async () => {
    // Prepare
    const event = buildEvent(await xrayRequest());
    // Act
    const { status, json } = await invoke(event);
    // Assess
    expect(status).toBe(200);
    expect(["NORMAL", "PNEUMONIA"]).toContain(json.prediction);
    expect(json.probability).toBe(json.probabilities[json.prediction]);
    expect(json.probability).toBeGreaterThanOrEqual(0.5);
    expect(json.probabilities.NORMAL + json.probabilities.PNEUMONIA).toBeCloseTo(1, 5);
    expect(json.model).toEqual({ name: "pneumonia-cnn", version: expect.any(String) });
  });

  it("classifies for a hand-made context without getRemainingTimeInMillis, as a script passes, as if it had no deadline", async () => {
    // Prepare
    const event = buildEvent(await xrayRequest());
    const { getRemainingTimeInMillis: _, ...withoutDeadline } = lambdaContext;
    // Act
    const result = await handler(event, withoutDeadline as typeof lambdaContext);
    // Assess
    expect(result.statusCode).toBe(200);
  });

  it("reads explain from the query string: true adds the heatmap, another value is 400", async () => {
    // Act
    const explained = await invoke(buildEvent(await xrayRequest({ query: { explain: ["true"] } })));
    const refused = await invoke(buildEvent(await xrayRequest({ query: { explain: ["true", "no"] } })));
    // Assess
    expect(explained.status).toBe(200);
    expect(explained.json.explanation).toMatchObject({ method: "CAM", width: SERVED_INPUT.width, height: SERVED_INPUT.height, heatmap: expect.stringMatching(/^data:image\/png;base64,/) });
    expect([refused.status, refused.json.error.code]).toEqual([400, "BAD_REQUEST"]);
  });

  it("reads a form body that is not base64-encoded, as API Gateway passes text", async () => {
    // Prepare: a UTF-8 form, which API Gateway passes as text when multipart is not a binary media type
    const { body, contentType } = await imageForm(Buffer.from("plain text, not an X-ray: é"), "notes.txt", "file", "text/plain");
    // Act
    const { status, json } = await invoke(buildEvent({ body, headers: { "content-type": contentType }, base64: false }));
    // Assess: the form was read and the file reached the image check
    expect(status).toBe(415);
    expect(json.error.code).toBe("UNSUPPORTED_MEDIA_TYPE");
  });

  it("reads header names in any case", async () => {
    const request = await xrayRequest();
    const contentType = request.headers!["Content-Type"]!;
    const { status } = await invoke(buildEvent({ ...request, headers: { "CONTENT-TYPE": contentType } }));
    expect(status).toBe(200);
  });

  it.each([
    ["a malformed form", 400, "MALFORMED_FORM", { headers: { "content-type": "multipart/form-data; boundary=x" }, body: Buffer.from("--x\r\nbroken") }],
    ["a form without a file", 400, "MISSING_FILE", { headers: { "content-type": "multipart/form-data; boundary=x" }, body: Buffer.from("--x--\r\n") }],
    ["a text file", 415, "UNSUPPORTED_MEDIA_TYPE", undefined],
    ["a JSON body", 415, "UNSUPPORTED_MEDIA_TYPE", { headers: { "content-type": "application/json" }, body: Buffer.from("{}"), base64: false }],
    ["a body over the limit", 413, "PAYLOAD_TOO_LARGE", { headers: { "content-type": "multipart/form-data; boundary=x" }, body: Buffer.alloc(IMAGE_LIMITS.maxFileBytes + 1) }],
    ["a corrupt JPEG", 422, "UNUSABLE_IMAGE", undefined],
  ] as const)("answers %s with %i and a JSON error", async (name, status, code, spec) => {
    // Prepare
    const xray = await anyXray();
    const files: Record<string, Buffer> = { "a text file": Buffer.from("patient notes"), "a corrupt JPEG": xray.subarray(0, 2000) };
    const form = spec ? undefined : await imageForm(files[name]!);
    const request: RequestSpec = form ? { body: form.body, headers: { "content-type": form.contentType } } : { ...spec };
    // Act
    const answer = await invoke(buildEvent(request));
    // Assess
    expect(answer.status).toBe(status);
    expect(answer.headers["content-type"]).toBe("application/json");
    expect(answer.json).toEqual({ error: { code, message: expect.any(String) } });
    expect(answer.json.error.message.length).toBeGreaterThan(30);
  });

  it("answers GET /health with the loaded model", async () => {
    const { status, json } = await invoke(buildEvent({ method: "GET", path: "/health" }));
    expect(status).toBe(200);
    expect(json).toEqual({ status: "ok", model: { name: "pneumonia-cnn", version: expect.any(String), sha256: expect.stringMatching(/^[0-9a-f]{64}$/) } });
  });

  it("serves the OpenAPI document, Swagger UI at /docs and the web page with its files", async () => {
    // Act
    const openapi = await invoke(buildEvent({ method: "GET", path: "/openapi.json" }));
    const pages = await Promise.all(["/docs", "/", "/web/app.js", "/web/swagger-ui-bundle.js"].map((path) => handler(buildEvent({ method: "GET", path }), lambdaContext)));
    // Assess
    expect(openapi.json.openapi).toMatch(/^3\./);
    expect(Object.keys(openapi.json.paths)).toEqual(["/pneumonia_classifier", "/health", "/openapi.json", "/docs", "/", "/web/{file}"]);
    const [docs, page, script, swaggerUi] = pages.map((result) => result as { statusCode: number; headers: Record<string, string>; body: string });
    expect(docs!.headers["content-type"]).toMatch(/^text\/html/);
    expect(docs!.body).toContain('src="web/swagger-ui-bundle.js"');
    expect(page!.body).toContain("Not a medical device");
    expect(script!.headers["content-type"]).toMatch(/^text\/javascript/);
    expect(swaggerUi!.statusCode).toBe(200);
  });

  it("answers the batching server's routes with 404 pointing to them under /gpu on the same API", async () => {
    // Act
    const { status, json } = await invoke(buildEvent({ method: "GET", path: "/metrics" }));
    // Assess
    expect(status).toBe(404);
    expect(json.error.message).toBe("/metrics is served by the batching server only; use /gpu/metrics on this API.");
  });

  it("states the Lambda route's body limit in the OpenAPI document", async () => {
    // Act
    const { json } = await invoke(buildEvent({ method: "GET", path: "/openapi.json" }));
    // Assess
    const description: string = json.paths["/pneumonia_classifier"].post.description;
    expect(description).toContain("On this host the whole request may be at most 4.49 MiB, the most that fits Lambda's 6 MiB invoke limit once base64-encoded.");
    expect(description).toContain("Larger requests: /gpu/pneumonia_classifier on this API, which takes up to 10 MiB.");
  });

  it("sends no client to /gpu in a deployment without the GPU service (GPU_ROUTE=false)", async () => {
    // Prepare: the function as a `-c gpu=false` stack configures it
    const alone = createHandler(lambdaHost({ GPU_ROUTE: "false" }));
    const tooLarge = buildEvent({ headers: { "content-type": "multipart/form-data; boundary=x" }, body: Buffer.alloc(IMAGE_LIMITS.maxFileBytes + 1) });
    // Act
    const answers = await Promise.all([tooLarge, buildEvent({ method: "GET", path: "/metrics" }), buildEvent({ method: "GET", path: "/openapi.json" })].map((event) => alone(event, lambdaContext)));
    // Assess
    expect(answers.map((answer) => answer.statusCode)).toEqual([413, 404, 200]);
    for (const answer of answers) expect(answer.body).not.toContain("/gpu");
    expect(JSON.parse(answers[0]!.body ?? "").error.message).toMatch(/^The request body is over 4.49 MiB, .*; send a smaller image\.$/);
  });

  it("answers an unknown path with 404 and a wrong method with 405", async () => {
    expect((await invoke(buildEvent({ method: "GET", path: "/predict" }))).status).toBe(404);
    const wrongMethod = await invoke(buildEvent({ method: "GET", path: "/pneumonia_classifier" }));
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.allow).toBe("POST");
  });
});
