import { afterEach, describe, expect, it, vi } from "vitest";
import { startBatchingServer } from "../../lambda/server/batching-server.js";
import { serverConfigFromEnv } from "../../lambda/server/server-config.js";
import { SERVICE_METRICS } from "../../lambda/core/service-metrics.js";
import { readFile } from "node:fs/promises";
import { anyXray, encodeForm, imageForm, xrayFixtures } from "../../tools/support/forms.js";
import { BATCH_LIMITS } from "../../lambda/core/limits.js";
import { rawClient } from "../support/raw-request.js";

const HANGING_WORKER = new URL("../support/hanging-preprocess-worker.ts", import.meta.url);
const WORKERS = {
  preprocess: new URL("../../lambda/preprocess-worker.ts", import.meta.url),
  inference: new URL("../../lambda/inference-worker.ts", import.meta.url),
};

afterEach(() => {
  vi.unstubAllEnvs();
});

describe("startBatchingServer", () => {
  it("answers /health with 503 and Retry-After until the model is loaded and warm, then 200", async () => {
    // Prepare
    const form = new FormData();
    form.append("file", new Blob([await anyXray()], { type: "image/jpeg" }), "xray.jpeg");
    const server = await startBatchingServer(serverConfigFromEnv({ PORT: "0", PREPROCESS_THREADS: "1" }), WORKERS);
    try {
      // Act
      const starting = await fetch(`${server.url}/health`);
      const classifyWhileStarting = await fetch(`${server.url}/pneumonia_classifier`, { method: "POST", body: form });
      await server.ready;
      const ready = await fetch(`${server.url}/health`);
      // Assess
      expect(starting.status).toBe(503);
      expect(starting.headers.get("retry-after")).toBe("5");
      expect(((await starting.json()) as { error: { code: string } }).error.code).toBe("MODEL_UNAVAILABLE");
      expect(classifyWhileStarting.status).toBe(503);
      expect(ready.status).toBe(200);
    } finally {
      await server.shutdown();
    }
  });

  it("reports each answer at /metrics and, under the Lambda handler's metric names, as EMF lines on stdout", async () => {
    // Prepare: the variable the stack sets on the GPU tasks, and stdout kept
    vi.stubEnv("POWERTOOLS_METRICS_NAMESPACE", SERVICE_METRICS.namespace);
    const written: string[] = [];
    const stdout = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    const { metrics: METRICS } = SERVICE_METRICS;
    const server = await startBatchingServer(serverConfigFromEnv({ PORT: "0", PREPROCESS_THREADS: "1" }), WORKERS);
    try {
      await server.ready;
      const xray = await imageForm(await anyXray());
      const text = await imageForm(Buffer.from("not an x-ray"), "notes.txt", "file", "text/plain");
      const post = ({ body, contentType }: { body: Buffer; contentType: string }) =>
        fetch(`${server.url}/pneumonia_classifier`, { method: "POST", body, headers: { "content-type": contentType } });
      // Act
      const answers = [await post(xray), await post(text)];
      const prometheus = await (await fetch(`${server.url}/metrics`)).text();
      // Assess
      expect(answers.map((answer) => answer.status)).toEqual([200, 415]);
      const { prediction } = (await answers[0]!.json()) as { prediction: "NORMAL" | "PNEUMONIA" };
      expect(prometheus).toMatch(new RegExp(`^classifier_answers_total\\{route="classify",outcome="${prediction}"\\} 1$`, "m"));
      expect(prometheus).toMatch(/^classifier_answers_total\{route="classify",outcome="UNSUPPORTED_MEDIA_TYPE"\} 1$/m);
      const documents = written.join("").split("\n").filter((line) => line.includes('"_aws"')).map((line) => JSON.parse(line));
      const byHost = documents.filter((document) => document.Host === "batching" && document.Route === "classify" && !("Code" in document));
      expect(byHost).toEqual([
        expect.objectContaining({ [METRICS.requests.name]: 1, [METRICS.classified.name]: 1, [SERVICE_METRICS.labelAnswers[prediction].name]: 1, [METRICS.preprocessDuration.name]: expect.any(Number) }),
        expect.objectContaining({ [METRICS.requests.name]: 1, [METRICS.refused.name]: 1, [METRICS.classified.name]: 0 }),
      ]);
      expect(documents).toContainEqual(expect.objectContaining({ Host: "batching", Route: "classify", Code: "UNSUPPORTED_MEDIA_TYPE", [METRICS.errorAnswers.name]: 1 }));
      expect(documents).toContainEqual(expect.objectContaining({ Host: "batching", [METRICS.batchSize.name]: 1, [METRICS.imagesInFlight.name]: 1 }));
    } finally {
      await server.shutdown();
      stdout.mockRestore();
    }
  });

  it("drops the images of an admitted request that outlive QUEUE_MAX_WAIT_MS before they reach the model, each with 503 OVERLOADED", async () => {
    // Prepare: one worker and a 200 ms budget from the headers: a full batch of the full-resolution fixtures, each
    // sent several times, takes it several times over
    const server = await startBatchingServer(serverConfigFromEnv({ PORT: "0", PREPROCESS_THREADS: "1", QUEUE_MAX_WAIT_MS: "200" }), WORKERS);
    try {
      await server.ready;
      const fixtures = await Promise.all((await xrayFixtures()).map(async ({ name, path }) => ({ name, bytes: await readFile(path) })));
      const form = new FormData();
      for (let i = 0; i < BATCH_LIMITS.maxFiles; i++) {
        const { name, bytes } = fixtures[i % fixtures.length]!;
        form.append("file", new Blob([bytes], { type: "image/jpeg" }), name);
      }
      const { body, contentType } = await encodeForm(form);
      // Act
      const answer = await fetch(`${server.url}/pneumonia_classifier/batch`, { method: "POST", body, headers: { "content-type": contentType } });
      const prometheus = await (await fetch(`${server.url}/metrics`)).text();
      // Assess
      expect(answer.status).toBe(200);
      const { results } = (await answer.json()) as { results: { status: number; error?: { code: string; message: string } }[] };
      const dropped = results.filter((result) => result.status === 503);
      expect(dropped.length).toBeGreaterThan(0);
      for (const result of dropped) expect(result.error).toEqual({ code: "OVERLOADED", message: expect.stringMatching(/waited out its 200 ms budget \(QUEUE_MAX_WAIT_MS\)/) });
      // The model ran every image but the dropped ones.
      expect(Number(/^classifier_batch_size_sum (\d+)/m.exec(prometheus)?.[1])).toBe(results.length - dropped.length);
      expect(prometheus).toMatch(/^classifier_shed_requests_total\{reason="expired"\} 1$/m);
      expect(prometheus).toMatch(new RegExp(`^classifier_admitted_images_total ${BATCH_LIMITS.maxFiles}$`, "m"));
      expect(prometheus).toMatch(/^classifier_queue_wait_seconds_count\{stage="preprocess"\} \d+$/m);
    } finally {
      await server.shutdown();
    }
  });

  it("holds a classification that finds no room, its body unread, and refuses it when none frees up while it may wait (half its budget before a time per image is measured): a client that sent headers only gets its 503", async () => {
    // Prepare: room for one full batch, held by files that keep the one (hanging) worker busy for good
    const config = serverConfigFromEnv({ PORT: "0", PREPROCESS_THREADS: "1", QUEUE_MAX_IMAGES: String(BATCH_LIMITS.maxFiles), QUEUE_MAX_WAIT_MS: "2000", SHUTDOWN_TIMEOUT_MS: "0" });
    const server = await startBatchingServer(config, { ...WORKERS, preprocess: HANGING_WORKER });
    try {
      await server.ready;
      const form = new FormData();
      for (let i = 0; i < BATCH_LIMITS.maxFiles; i++) form.append("file", new Blob([Buffer.from("hang")], { type: "image/jpeg" }), "hang.jpeg");
      const { body, contentType } = await encodeForm(form);
      void fetch(`${server.url}/pneumonia_classifier/batch`, { method: "POST", body, headers: { "content-type": contentType } }).catch(() => undefined);
      await expect.poll(async () => /^classifier_images_in_flight (\d+)/m.exec(await (await fetch(`${server.url}/metrics`)).text())?.[1], { interval: 5 }).toBe(String(BATCH_LIMITS.maxFiles));
      const { client, received, closed } = rawClient(server.url);
      // Act: headers that announce a body, which never comes
      client.write("POST /pneumonia_classifier HTTP/1.1\r\nHost: localhost\r\nContent-Type: multipart/form-data; boundary=x\r\nContent-Length: 300000\r\n\r\n");
      await expect.poll(async () => /^classifier_requests_awaiting_admission (\d+)/m.exec(await (await fetch(`${server.url}/metrics`)).text())?.[1], { interval: 5 }).toBe("1");
      await expect.poll(() => received(), { timeout: 5000 }).toMatch(/"code":"OVERLOADED"/);
      const prometheus = await (await fetch(`${server.url}/metrics`)).text();
      // Assess
      expect(received()).toMatch(/^HTTP\/1\.1 503 /);
      expect(received()).toMatch(/^retry-after: \d+\r$/im);
      expect(received()).toMatch(/at its limit of 32 images in progress/);
      expect(prometheus).toMatch(/^classifier_shed_requests_total\{reason="queue-full"\} 1$/m);
      expect(prometheus).toMatch(/^classifier_answers_total\{route="classify",outcome="OVERLOADED"\} 1$/m);
      expect(prometheus).toMatch(/^classifier_queue_wait_seconds_count\{stage="admission"\} 1$/m);
      client.end();
      await closed;
    } finally {
      await server.shutdown();
    }
  });
});
