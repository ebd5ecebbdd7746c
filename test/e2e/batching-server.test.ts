import { readFile } from "node:fs/promises";
import { join } from "node:path";
import png from "@jimp/js-png";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SERVER_ENTRIES, startServer, type LocalApiProcess } from "../../tools/support/server-process.js";
import { FIXTURES, xrayFixtures } from "../../tools/support/forms.js";
import { inProcessImageClassifier } from "../../lambda/core/model/image-classifier.js";
import { inProcessModel } from "../../lambda/core/model/in-process-model.js";
import { BATCH_LIMITS } from "../../lambda/core/limits.js";
import { SERVED_INPUT } from "../support/served-model.js";

/** A JSON answer as the tests read it; its shape is what the assertions check. */
type Json = any;

/** A form with one `file` part per image, as `curl -F file=@a -F file=@b` sends it. */
function batchForm(files: { bytes: Uint8Array; name: string }[]): FormData {
  const form = new FormData();
  for (const file of files) form.append("file", new Blob([file.bytes], { type: "image/jpeg" }), file.name);
  return form;
}

async function post(url: string, form: FormData) {
  const response = await fetch(url, { method: "POST", body: form });
  return { status: response.status, headers: response.headers, json: (await response.json()) as Json };
}

/** Waits until the server holds `count` images admitted and not yet answered, as its /metrics says. */
async function imagesInFlight(url: string, count: number): Promise<void> {
  for (;;) {
    const metrics = await (await fetch(`${url}/metrics`)).text();
    if (Number(/^classifier_images_in_flight (\d+)/m.exec(metrics)?.[1]) === count) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The grey levels of a heatmap data URL's PNG. */
function greyLevels(dataUrl: string): number[] {
  const { data, width, height } = png().decode(Buffer.from(dataUrl.replace(/^data:image\/png;base64,/, ""), "base64"), {});
  return Array.from({ length: width * height }, (_, i) => data[i * 4]!);
}

async function fixtureFiles() {
  return Promise.all((await xrayFixtures()).map(async (fixture) => ({ ...fixture, bytes: await readFile(fixture.path) })));
}

describe("npm run start:gpu over real HTTP", () => {
  let server: LocalApiProcess;
  beforeAll(async () => {
    // A long wait makes concurrent requests share batches, so the test sees batching happen.
    server = await startServer(SERVER_ENTRIES.batching, { BATCH_MAX_WAIT_MS: "40" });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("answers the article's call with what the Lambda handler answers", async () => {
    // Prepare
    const [fixture] = await fixtureFiles();
    const images = inProcessImageClassifier(await inProcessModel());
    const [expected] = await images.classifyImages([fixture!.bytes]);
    // Act
    const { status, json } = await post(`${server.url}/pneumonia_classifier`, batchForm([fixture!]));
    // Assess
    expect(status).toBe(200);
    expect(json.prediction).toBe((expected as Json).result.prediction);
    expect(json.probability).toBeCloseTo((expected as Json).result.probability, 6);
    expect(json.model).toEqual({ name: "pneumonia-cnn", version: expect.any(String) });
  });

  it("classifies a batch of 8 X-rays, one result per file in the form's order", async () => {
    // Prepare
    const fixtures = (await fixtureFiles()).slice(0, 8);
    // Act
    const { status, json } = await post(`${server.url}/pneumonia_classifier/batch`, batchForm(fixtures));
    // Assess
    expect(status).toBe(200);
    expect(json.results.map((result: Json) => result.file)).toEqual(fixtures.map((fixture) => fixture.name));
    expect(json.results.every((result: Json) => result.status === 200)).toBe(true);
    const correct = json.results.filter((result: Json, i: number) => result.prediction === fixtures[i]!.label).length;
    expect(correct).toBeGreaterThanOrEqual(7);
  });

  it("answers a corrupt file in a batch with its own 422 and classifies the others", async () => {
    // Prepare
    const [good] = await fixtureFiles();
    const truncated = { bytes: good!.bytes.subarray(0, 300), name: "truncated.jpeg" };
    // Act
    const { status, json } = await post(`${server.url}/pneumonia_classifier/batch`, batchForm([good!, truncated, good!]));
    // Assess
    expect(status).toBe(200);
    expect(json.results.map((result: Json) => result.status)).toEqual([200, 422, 200]);
    expect(json.results[1].error.code).toBe("UNUSABLE_IMAGE");
  });

  it("answers a file the gate refuses with its own 422 NOT_A_CHEST_XRAY and classifies the X-ray beside it", async () => {
    // Prepare
    const [xray] = await fixtureFiles();
    const photo = { name: "rocket.jpeg", bytes: await readFile(join(FIXTURES, "ood", "photos", "rocket.jpeg")) };
    // Act
    const { status, json } = await post(`${server.url}/pneumonia_classifier/batch`, batchForm([xray!, photo]));
    // Assess
    expect(status).toBe(200);
    expect(json.results.map((result: Json) => result.status)).toEqual([200, 422]);
    expect(json.results[1].error).toMatchObject({ code: "NOT_A_CHEST_XRAY", score: expect.any(Number), threshold: expect.any(Number) });
    expect(json.results[1].error.score).toBeGreaterThan(json.results[1].error.threshold);
  });

  it("explains each classified file of a batch with explain=true, as the Lambda handler does, and not the file it refuses", async () => {
    // Prepare
    const [xray] = await fixtureFiles();
    const photo = { name: "rocket.jpeg", bytes: await readFile(join(FIXTURES, "ood", "photos", "rocket.jpeg")) };
    const images = inProcessImageClassifier(await inProcessModel());
    const [expected] = await images.classifyImages([xray!.bytes], { explain: true });
    // Act
    const { status, json } = await post(`${server.url}/pneumonia_classifier/batch?explain=true`, batchForm([xray!, photo, xray!]));
    const plain = await post(`${server.url}/pneumonia_classifier/batch`, batchForm([xray!]));
    // Assess
    expect(status).toBe(200);
    expect(json.results.map((result: Json) => result.status)).toEqual([200, 422, 200]);
    // Within a grey level: a batch of another size may round the last bit of a float differently.
    const reference = greyLevels((expected as Json).explanation.heatmap);
    for (const result of [json.results[0], json.results[2]]) {
      expect(result.explanation).toMatchObject({ method: "CAM", width: SERVED_INPUT.width, height: SERVED_INPUT.height });
      expect(Math.max(...greyLevels(result.explanation.heatmap).map((level, i) => Math.abs(level - reference[i]!)))).toBeLessThanOrEqual(1);
    }
    expect(json.results[1]).not.toHaveProperty("explanation");
    expect(plain.json.results[0]).not.toHaveProperty("explanation");
  });

  it("refuses explain with any value but true with 400, on both classify routes", async () => {
    // Prepare
    const [xray] = await fixtureFiles();
    // Act
    const batch = await post(`${server.url}/pneumonia_classifier/batch?explain=1`, batchForm([xray!]));
    const single = await post(`${server.url}/pneumonia_classifier?explain=TRUE`, batchForm([xray!]));
    // Assess
    expect([batch.status, batch.json.error.code]).toEqual([400, "BAD_REQUEST"]);
    expect([single.status, single.json.error.code]).toEqual([400, "BAD_REQUEST"]);
    expect(batch.json.error.message).toMatch(/explain/);
  });

  it("refuses a batch over the file limit with 400", async () => {
    // Prepare
    const [good] = await fixtureFiles();
    const tooMany = Array.from({ length: BATCH_LIMITS.maxFiles + 1 }, () => good!);
    // Act
    const { status, json } = await post(`${server.url}/pneumonia_classifier/batch`, batchForm(tooMany));
    // Assess
    expect(status).toBe(400);
    expect(json.error.code).toBe("TOO_MANY_FILES");
  });

  it("batches concurrent requests together and reports it at /metrics", async () => {
    // Prepare
    const fixtures = await fixtureFiles();
    // Act
    const answers = await Promise.all(fixtures.map((fixture) => post(`${server.url}/pneumonia_classifier`, batchForm([fixture]))));
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    // Assess
    expect(answers.map((answer) => answer.status)).toEqual(fixtures.map(() => 200));
    const batches = Number(/^classifier_batch_size_count (\d+)/m.exec(metrics)?.[1]);
    const images = Number(/^classifier_batch_size_sum (\d+)/m.exec(metrics)?.[1]);
    expect(images / batches).toBeGreaterThan(1);
    expect(metrics).toMatch(/^classifier_queue_images\{stage="preprocess"\} \d+/m);
    expect(metrics).toMatch(/^classifier_request_duration_seconds_count\{path="\/pneumonia_classifier",status="200"\} \d+/m);
  });

  it("documents the batch route at /openapi.json and serves /docs", async () => {
    // Act
    const document = (await (await fetch(`${server.url}/openapi.json`)).json()) as Json;
    const docs = await fetch(`${server.url}/docs`);
    // Assess
    expect(Object.keys(document.paths)).toEqual(expect.arrayContaining(["/pneumonia_classifier", "/pneumonia_classifier/batch", "/health"]));
    expect(docs.status).toBe(200);
  });
});

describe("npm run start:gpu under load and at shutdown", () => {
  it("refuses a request with 503 and Retry-After when the queue is full, and keeps serving", async () => {
    // Prepare: room for one full batch request at a time, one worker, so a second one cannot fit.
    const server = await startServer(SERVER_ENTRIES.batching, { QUEUE_MAX_IMAGES: String(BATCH_LIMITS.maxFiles), PREPROCESS_THREADS: "1" });
    try {
      const [good] = await fixtureFiles();
      const full = batchForm(Array.from({ length: BATCH_LIMITS.maxFiles }, () => good!));
      // Act
      const answers = await Promise.all([1, 2, 3].map(() => post(`${server.url}/pneumonia_classifier/batch`, full)));
      const after = await post(`${server.url}/pneumonia_classifier`, batchForm([good!]));
      // Assess
      const refused = answers.filter((answer) => answer.status === 503);
      expect(refused.length).toBeGreaterThanOrEqual(1);
      expect(answers.some((answer) => answer.status === 200)).toBe(true);
      expect(refused[0]!.json.error.code).toBe("OVERLOADED");
      expect(Number(refused[0]!.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(after.status).toBe(200);
    } finally {
      await server.stop();
    }
  });

  it("answers every request in progress on SIGTERM, then exits 0", async () => {
    // Prepare: a long batch wait holds every image in the server until well after the signal.
    const server = await startServer(SERVER_ENTRIES.batching, { PREPROCESS_THREADS: "1", BATCH_MAX_SIZE: "64", BATCH_MAX_WAIT_MS: "1000", QUEUE_MAX_WAIT_MS: "30000" });
    const fixtures = await fixtureFiles();
    const answeredAt: number[] = [];
    const inFlight = fixtures.map((fixture) => post(`${server.url}/pneumonia_classifier`, batchForm([fixture])).finally(() => answeredAt.push(performance.now())));
    await imagesInFlight(server.url, fixtures.length);
    // Act
    const signalledAt = performance.now();
    const exited = server.stop();
    const answers = await Promise.all(inFlight);
    // Assess
    expect(answers.map((answer) => answer.status)).toEqual(fixtures.map(() => 200));
    expect(Math.min(...answeredAt)).toBeGreaterThan(signalledAt);
    expect(await exited).toBe(0);
    await expect(fetch(`${server.url}/health`)).rejects.toThrow();
  });
});
