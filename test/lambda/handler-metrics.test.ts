/**
 * The CloudWatch metrics the real handler writes: each invocation on a fresh handler module, as a new Lambda
 * environment loads it, with the variables Lambda and the stack set, and every line it writes on stdout read
 * back as the embedded-metric-format documents Powertools wrote, as CloudWatch Logs would read them.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Context } from "aws-lambda";
import type { ApiGatewayEvent, ProxyHandler } from "../../lambda/adapters/api-gateway-event.js";
import { SERVICE_METRICS } from "../../lambda/core/service-metrics.js";
import { defaultModelDir, readManifest } from "../../lambda/core/model/manifest.js";
import { SAMPLE_XRAY } from "../../events/sample-events.js";
import { lambdaContext, restApiEvent } from "../../tools/support/api-gateway-events.js";
import { imageForm } from "../../tools/support/forms.js";
import { ROOT } from "../support/run-command.js";

/** An EMF document as Powertools writes it: one namespace, one dimension set, the values at the top level. */
interface EmfDocument {
  _aws: { Timestamp: number; CloudWatchMetrics: [{ Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }] };
  [key: string]: unknown;
}

/** What the stack sets on the function, and what Lambda sets in an environment that was not provisioned ahead. */
const LAMBDA_ENV = { POWERTOOLS_METRICS_NAMESPACE: SERVICE_METRICS.namespace, AWS_LAMBDA_INITIALIZATION_TYPE: "on-demand" };
const { metrics: METRICS, labelAnswers: LABEL_ANSWERS } = SERVICE_METRICS;
const manifest = await readManifest(defaultModelDir());

afterEach(() => {
  vi.unstubAllEnvs();
});

/** The Lambda handler of a new environment with these variables: the module loaded afresh, model and all. */
async function freshHandler(env: Record<string, string>): Promise<ProxyHandler> {
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  vi.resetModules();
  return (await import("../../lambda/handler.js")).handler;
}

/** Invokes the handler; its status, and every line it wrote on stdout meanwhile, each parsed as JSON. */
async function invoke(
  handler: ProxyHandler,
  event: ApiGatewayEvent,
  context: Context = lambdaContext,
): Promise<{ status: number | undefined; headers?: Record<string, unknown>; body?: string; documents: EmfDocument[] }> {
  const written: string[] = [];
  const stdout = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  });
  try {
    const result = await handler(event, context);
    const documents = written.join("").split("\n").filter(Boolean).map((line) => JSON.parse(line) as EmfDocument);
    if (typeof result === "string") return { status: undefined, documents };
    return { status: result.statusCode, headers: result.headers, body: result.body, documents };
  } finally {
    stdout.mockRestore();
  }
}

/** The one document whose dimension set is `dimensions`, after `service`. */
function documentOf(documents: EmfDocument[], ...dimensions: string[]): EmfDocument {
  const matching = documents.filter((document) => document._aws.CloudWatchMetrics[0].Dimensions.join() === ["service", ...dimensions].join());
  expect(matching, dimensions.join()).toHaveLength(1);
  return matching[0]!;
}

async function sampleClassifyEvent(): Promise<ApiGatewayEvent> {
  return JSON.parse(await readFile(join(ROOT, "events", "rest-api-classify.json"), "utf8"));
}

describe("handler metrics", () => {
  it("writes the classified request's counts, label, probability and timings in each view, and a cold start", async () => {
    // Prepare
    const handler = await freshHandler(LAMBDA_ENV);
    const event = await sampleClassifyEvent();

    // Act
    const { status, body, documents } = await invoke(handler, event);

    // Assess
    expect(status).toBe(200);
    const answered = JSON.parse(body!) as { probabilities: { PNEUMONIA: number } };
    for (const document of documents) expect(document._aws.CloudWatchMetrics[0].Namespace).toBe(SERVICE_METRICS.namespace);
    expect(documentOf(documents, "function_name")).toMatchObject({ service: SERVICE_METRICS.service, function_name: lambdaContext.functionName, [METRICS.coldStart.name]: 1 });
    const counts = {
      [METRICS.requests.name]: 1,
      [METRICS.refused.name]: 0,
      [METRICS.failed.name]: 0,
      [METRICS.classified.name]: 1,
      [LABEL_ANSWERS[SAMPLE_XRAY.label].name]: 1,
      [METRICS.pneumoniaProbability.name]: expect.closeTo(answered.probabilities.PNEUMONIA, 6),
    };
    expect(documentOf(documents, "Route")).toMatchObject({ Route: "classify", ...counts });
    expect(documentOf(documents, "Route", "ModelVersion")).toMatchObject({ Route: "classify", ModelVersion: manifest.version, ...counts });
    const byHost = documentOf(documents, "Host", "Route");
    expect(byHost).toMatchObject({ Host: "lambda", Route: "classify", ...counts });
    for (const timing of [METRICS.parseDuration, METRICS.preprocessDuration, METRICS.inferenceDuration, METRICS.requestDuration]) {
      expect(byHost[timing.name], timing.name).toBeGreaterThan(0);
      expect(byHost._aws.CloudWatchMetrics[0].Metrics).toContainEqual({ Name: timing.name, Unit: "Milliseconds" });
    }
    expect(documents).toHaveLength(4);
  });

  it("counts a cold start on an environment's first invocation only", async () => {
    // Prepare
    const handler = await freshHandler(LAMBDA_ENV);
    const event = await sampleClassifyEvent();

    // Act
    const first = await invoke(handler, event);
    const second = await invoke(handler, event);

    // Assess
    const coldStarts = (documents: EmfDocument[]) => documents.filter((document) => METRICS.coldStart.name in document);
    expect(coldStarts(first.documents)).toHaveLength(1);
    expect(coldStarts(second.documents)).toHaveLength(0);
  });

  it("counts a refused request as Refused, with its error code, and nothing from the image", async () => {
    // Prepare
    const handler = await freshHandler(LAMBDA_ENV);
    const { body, contentType } = await imageForm(Buffer.from("Name: Jane Doe, born 2019-04-01"), "jane-doe.txt", "file", "text/plain");
    const event = restApiEvent({ body, headers: { "content-type": contentType } });

    // Act
    const { status, documents } = await invoke(handler, event);

    // Assess
    expect(status).toBe(415);
    const counts = { [METRICS.requests.name]: 1, [METRICS.refused.name]: 1, [METRICS.failed.name]: 0, [METRICS.classified.name]: 0 };
    expect(documentOf(documents, "Route")).toMatchObject(counts);
    expect(documentOf(documents, "Host", "Route")).toMatchObject(counts);
    expect(documentOf(documents, "Route", "ModelVersion")).toMatchObject(counts);
    expect(documentOf(documents, "Host", "Route", "Code")).toMatchObject({ Code: "UNSUPPORTED_MEDIA_TYPE", [METRICS.errorAnswers.name]: 1 });
    expect(documentOf(documents, "Route")).not.toHaveProperty(METRICS.pneumoniaProbability.name);
    const written = JSON.stringify(documents);
    for (const personal of ["Jane", "jane-doe.txt", "2019-04-01"]) expect(written).not.toContain(personal);
  });

  it("counts a request the model cannot answer as Failed, with MODEL_UNAVAILABLE and no model version", async () => {
    // Prepare: an environment whose model folder is missing, so the model cannot load
    const handler = await freshHandler({ ...LAMBDA_ENV, MODEL_DIR: join(ROOT, "models", "no-such-model") });
    const event = await sampleClassifyEvent();

    // Act
    const { status, documents } = await invoke(handler, event);

    // Assess
    expect(status).toBe(503);
    const counts = { [METRICS.requests.name]: 1, [METRICS.refused.name]: 0, [METRICS.failed.name]: 1, [METRICS.classified.name]: 0 };
    expect(documentOf(documents, "Route")).toMatchObject(counts);
    expect(documentOf(documents, "Host", "Route")).toMatchObject(counts);
    expect(documentOf(documents, "Host", "Route", "Code")).toMatchObject({ Code: "MODEL_UNAVAILABLE", [METRICS.errorAnswers.name]: 1 });
    expect(documents.filter((document) => "ModelVersion" in document)).toEqual([]);
  });

  it("answers a classification the invocation's remaining time cannot cover with 503 OUT_OF_TIME at once, counted as Failed", async () => {
    // Prepare: an invocation with a quarter of a second left, less than a classification is taken to need
    const handler = await freshHandler(LAMBDA_ENV);
    const event = await sampleClassifyEvent();
    const almostOut = { ...lambdaContext, getRemainingTimeInMillis: () => 250 };

    // Act
    const { status, headers, body, documents } = await invoke(handler, event, almostOut);
    const withTime = await invoke(handler, event);

    // Assess
    expect(status).toBe(503);
    expect(headers?.["retry-after"]).toBe("1");
    expect(JSON.parse(body!).error).toEqual({ code: "OUT_OF_TIME", message: expect.stringMatching(/^This invocation has 250 ms left, less than the \d+ ms a classification needs here/) });
    const counts = { [METRICS.requests.name]: 1, [METRICS.failed.name]: 1, [METRICS.classified.name]: 0 };
    expect(documentOf(documents, "Host", "Route")).toMatchObject(counts);
    expect(documentOf(documents, "Host", "Route", "Code")).toMatchObject({ Code: "OUT_OF_TIME", [METRICS.errorAnswers.name]: 1 });
    expect(withTime.status).toBe(200);
  });

  it("writes no request metrics for a route that does not classify", async () => {
    // Prepare
    const handler = await freshHandler(LAMBDA_ENV);
    await invoke(handler, await sampleClassifyEvent());

    // Act
    const { status, documents } = await invoke(handler, restApiEvent({ method: "GET", path: "/health" }));

    // Assess
    expect(status).toBe(200);
    expect(documents).toEqual([]);
  });

  it("writes nothing on stdout without POWERTOOLS_METRICS_NAMESPACE, as under npm start", async () => {
    // Prepare
    const handler = await freshHandler({ AWS_LAMBDA_INITIALIZATION_TYPE: "on-demand" });

    // Act
    const { status, documents } = await invoke(handler, await sampleClassifyEvent());

    // Assess
    expect(status).toBe(200);
    expect(documents).toEqual([]);
  });
});
