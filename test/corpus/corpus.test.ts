import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { handler } from "../../lambda/handler.js";
import { httpApiEvent, lambdaContext, restApiEvent } from "../../tools/support/api-gateway-events.js";
import { SERVER_ENTRIES, startServer, type LocalApiProcess } from "../../tools/support/server-process.js";
import { rawRequest } from "../support/raw-request.js";
import { CORPUS, expectedStatuses, type CorpusCase, type CorpusRequest } from "./hostile-inputs.js";

/**
 * Every answer must come within this: a hostile input may not hang the classifier. A bound on hanging, not a speed
 * target: a 6 MiB upload took just over 1 s on a loaded 2-core machine, so the bound leaves room for that.
 */
const ANSWER_WITHIN_MS = 5000;

interface Answer {
  status: number;
  body: string;
  ms: number;
}

function checkAnswer(answer: Answer, expected: readonly number[]) {
  expect(expected).toContain(answer.status);
  expect(answer.ms).toBeLessThan(ANSWER_WITHIN_MS);
  const json = JSON.parse(answer.body);
  if (answer.status === 200) {
    expect(["NORMAL", "PNEUMONIA"]).toContain(json.prediction);
  } else {
    expect(json.error.code).toMatch(/^[A-Z_]+$/);
    // The message tells the user what to do, not just what failed.
    expect(json.error.message).toMatch(/send|resend|retry|downscale|see \/docs/i);
  }
}

const built = new Map<string, CorpusRequest>();
beforeAll(async () => {
  for (const corpusCase of CORPUS) built.set(corpusCase.name, await corpusCase.build());
}, 120_000);

describe.each([
  ["REST API (payload 1.0)", restApiEvent],
  ["HTTP API (payload 2.0)", httpApiEvent],
] as const)("corpus against the handler with %s events", (_name, buildEvent) => {
  it.each(CORPUS.map((c) => [`${c.family}: ${c.name}`, c] as [string, CorpusCase]))("answers %s", async (_title, corpusCase) => {
    // Prepare
    const { body, headers } = built.get(corpusCase.name)!;
    const event = buildEvent({ body, headers });
    // Act
    const started = performance.now();
    const result = await handler(event, lambdaContext);
    const ms = performance.now() - started;
    // Assess
    if (typeof result === "string") throw new Error("the handler answered a bare string");
    checkAnswer({ status: result.statusCode!, body: result.body!, ms }, expectedStatuses(corpusCase.expected, "handler"));
  });
});

/** POSTs a corpus request, timed; the answer counts even when the server closes before reading the whole body. */
async function post(url: string, request: CorpusRequest): Promise<Answer> {
  const started = performance.now();
  const { status, body } = await rawRequest(`${url}/pneumonia_classifier`, request.body, { ...request.headers, "content-length": String(request.body.length) });
  return { status, body, ms: performance.now() - started };
}

describe.each([
  ["npm start", SERVER_ENTRIES.local, "http"],
  ["npm run start:gpu", SERVER_ENTRIES.batching, "batching"],
] as const)("corpus over real HTTP against %s", (_name, entry, transport) => {
  let api: LocalApiProcess;
  beforeAll(async () => {
    api = await startServer(entry);
  });
  afterAll(async () => {
    await api?.stop();
  });

  it.each(CORPUS.map((c) => [`${c.family}: ${c.name}`, c] as [string, CorpusCase]))("answers %s", async (_title, corpusCase) => {
    const answer = await post(api.url, built.get(corpusCase.name)!);
    checkAnswer(answer, expectedStatuses(corpusCase.expected, transport));
  });

  it("is still serving after the whole corpus", async () => {
    expect((await fetch(`${api.url}/health`)).status).toBe(200);
    expect(api.process.exitCode).toBeNull();
  });
});
