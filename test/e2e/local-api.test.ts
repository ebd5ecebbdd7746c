import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalApi, type LocalApiProcess } from "../../tools/support/server-process.js";
import { imageForm, xrayFixtures } from "../../tools/support/forms.js";
import { FORM_LIMITS } from "../../lambda/core/limits.js";
import { rawRequest } from "../support/raw-request.js";
import { SERVED_INPUT } from "../support/served-model.js";

let api: LocalApiProcess;

/** A JSON answer as the tests read it; its shape is what the assertions check. */
type Json = any;

beforeAll(async () => {
  api = await startLocalApi();
});

afterAll(async () => {
  await api?.stop();
});

/** POSTs a file as `curl -F file=@name` does, with `query` after the path. */
async function postFile(bytes: Uint8Array, filename: string, type = "image/jpeg", query = "") {
  const form = new FormData();
  form.append("file", new Blob([bytes], { type }), filename);
  const response = await fetch(`${api.url}/pneumonia_classifier${query}`, { method: "POST", body: form });
  return { status: response.status, json: (await response.json()) as Json };
}

/** Sends raw bytes with a Content-Type, for bodies fetch would not produce. */
async function postRaw(body: Buffer, contentType: string) {
  const response = await fetch(`${api.url}/pneumonia_classifier`, { method: "POST", body, headers: { "content-type": contentType } });
  return { status: response.status, json: (await response.json()) as Json };
}

describe("local API over real HTTP", () => {
  it("classifies the full-resolution X-ray fixtures", async () => {
    // Prepare
    const fixtures = await xrayFixtures();
    // Act
    const answers = [];
    for (const fixture of fixtures) answers.push({ fixture, ...(await postFile(await readFile(fixture.path), fixture.name)) });
    // Assess
    for (const { status, json } of answers) {
      expect(status).toBe(200);
      expect(json.probability).toBe(json.probabilities[json.prediction]);
      expect(json.model.name).toBe("pneumonia-cnn");
    }
    const correct = answers.filter(({ fixture, json }) => json.prediction === fixture.label).length;
    expect(correct).toBeGreaterThanOrEqual(fixtures.length - 1);
  });

  it("adds where the model looked with explain=true, and answers as before without it", async () => {
    // Prepare
    const fixture = (await xrayFixtures()).find((f) => f.label === "PNEUMONIA")!;
    const bytes = await readFile(fixture.path);
    // Act
    const explained = await postFile(bytes, fixture.name, "image/jpeg", "?explain=true");
    const plain = await postFile(bytes, fixture.name);
    // Assess
    expect(explained.status).toBe(200);
    expect(explained.json.explanation).toEqual({ method: "CAM", width: SERVED_INPUT.width, height: SERVED_INPUT.height, heatmap: expect.stringMatching(/^data:image\/png;base64,[A-Za-z0-9+/]+=*$/) });
    expect(Object.keys(plain.json)).toEqual(["prediction", "probability", "probabilities", "model", "timingsMs"]);
    expect(explained.json.probabilities).toEqual(plain.json.probabilities);
  });

  it("refuses explain with any value but true, or repeated, with 400 saying what to send", async () => {
    // Prepare
    const bytes = await readFile((await xrayFixtures())[0]!.path);
    // Act
    const answers = await Promise.all(["?explain=false", "?explain=", "?explain=true&explain=true"].map((query) => postFile(bytes, "x.jpeg", "image/jpeg", query)));
    // Assess
    for (const { status, json } of answers) {
      expect(status).toBe(400);
      expect(json.error).toMatchObject({ code: "BAD_REQUEST", message: expect.stringMatching(/explain takes one value, true/) });
    }
  });

  it("answers a text file, an empty form and a truncated form with 4xx JSON, and keeps serving", async () => {
    // Prepare
    const truncated = await imageForm(await readFile((await xrayFixtures())[0]!.path));
    // Act
    const text = await postFile(Buffer.from("not an x-ray"), "notes.txt", "text/plain");
    const empty = await postRaw(Buffer.from("--b--\r\n"), "multipart/form-data; boundary=b");
    const cut = await postRaw(truncated.body.subarray(0, truncated.body.length / 2), truncated.contentType);
    const health = await fetch(`${api.url}/health`);
    // Assess
    expect([text.status, text.json.error.code]).toEqual([415, "UNSUPPORTED_MEDIA_TYPE"]);
    expect([empty.status, empty.json.error.code]).toEqual([400, "MISSING_FILE"]);
    expect([cut.status, cut.json.error.code]).toEqual([400, "MALFORMED_FORM"]);
    expect(health.status).toBe(200);
    expect(api.process.exitCode).toBeNull();
  });

  it("refuses a body over the Lambda route's limit with 413 saying the batching server takes it, and keeps serving", async () => {
    // Prepare: Node's fetch would stream the whole body first; a raw request shows the front cuts it off.
    const body = Buffer.alloc(FORM_LIMITS.maxLambdaBodyBytes + 1024);
    // Act
    const answer = await rawRequest(`${api.url}/pneumonia_classifier`, body, { "content-type": "multipart/form-data; boundary=b" });
    // Assess
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body).error.message).toContain("on the batching server (npm run start:gpu), which takes up to 10 MiB");
    expect((await fetch(`${api.url}/health`)).status).toBe(200);
  });

  it.each([
    ["GET", "/metrics"],
    ["POST", "/pneumonia_classifier/batch"],
  ])("answers %s %s, a batching server route, with a JSON 404 that names npm run start:gpu", async (method, path) => {
    // Act
    const response = await fetch(`${api.url}${path}`, { method });
    // Assess
    expect(response.status).toBe(404);
    expect(((await response.json()) as Json).error).toEqual({
      code: "NOT_FOUND",
      message: `${path} is served by the batching server only; use ${path} on the batching server (npm run start:gpu).`,
    });
  });

  it("serves /health, /openapi.json and /docs", async () => {
    const health = (await (await fetch(`${api.url}/health`)).json()) as Json;
    const openapi = (await (await fetch(`${api.url}/openapi.json`)).json()) as Json;
    const docs = await fetch(`${api.url}/docs`);
    expect(health.model.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(openapi.paths["/pneumonia_classifier"].post).toBeDefined();
    expect(docs.headers.get("content-type")).toMatch(/^text\/html/);
    expect(await docs.text()).toContain('src="web/swagger-ui-bundle.js"');
  });
});
