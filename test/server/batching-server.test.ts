import { afterEach, describe, expect, it, vi } from "vitest";
import { startBatchingServer } from "../../lambda/server/batching-server.js";
import { serverConfigFromEnv } from "../../lambda/server/server-config.js";
import { SERVICE_METRICS } from "../../lambda/core/service-metrics.js";
import { anyXray, imageForm } from "../../tools/support/forms.js";

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
});
