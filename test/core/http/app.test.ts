/**
 * The app's routing and error mapping, with a fake image classifier in place of the model: what each route
 * answers for every outcome the classifier can give, in milliseconds. The real model is end-to-end's part.
 */
import { describe, expect, it } from "vitest";
import { createApp, type AppDependencies } from "../../../lambda/core/http/app.js";
import { API_HOSTS, type ApiHost } from "../../../lambda/core/http/api-host.js";
import type { CoreRequest } from "../../../lambda/core/http/http-types.js";
import type { ImageClassifier, ImageOutcome } from "../../../lambda/core/model/image-classifier.js";
import { defaultModelDir, readManifest } from "../../../lambda/core/model/manifest.js";
import { ERROR_CODES, ModelUnavailableError, TemporarilyUnavailableError, UnusableImageError } from "../../../lambda/core/errors.js";
import type { RequestOutcome } from "../../../lambda/core/http/request-outcome.js";
import { logger } from "../../../lambda/core/logger.js";
import { encodeForm, imageForm } from "../../../tools/support/forms.js";

const manifest = await readManifest(defaultModelDir());

/** A classified image, as the fake answers every image it is not told to refuse. */
const CLASSIFIED: ImageOutcome = {
  header: { type: "image/jpeg", width: 1000, height: 800, orientation: 1 },
  result: { prediction: "PNEUMONIA", probability: 0.9, probabilities: { NORMAL: 0.1, PNEUMONIA: 0.9 } },
  timingsMs: { preprocess: 1, inference: 1 },
};

/** An image classifier that answers from the bytes' text: "corrupt" gets 422, anything else CLASSIFIED. */
const fakeImages: ImageClassifier = {
  manifest,
  async classifyImages(images) {
    return images.map((bytes) =>
      Buffer.from(bytes).toString() === "corrupt" ? new UnusableImageError("The JPEG is truncated; send the whole file.") : CLASSIFIED,
    );
  },
};

const deps = (images: AppDependencies["images"] = async () => fakeImages): AppDependencies => ({ images });

async function send(host: ApiHost, request: Partial<CoreRequest>, dependencies = deps()) {
  const response = await createApp(dependencies, host)({ method: "POST", path: "/pneumonia_classifier", headers: {}, body: Buffer.alloc(0), ...request });
  const json = response.headers["content-type"] === "application/json" ? JSON.parse(response.body) : undefined;
  return { ...response, json };
}

async function formRequest(...files: string[]): Promise<Partial<CoreRequest>> {
  const form = new FormData();
  for (const [i, text] of files.entries()) form.append("file", new Blob([text]), `x${i}.jpeg`);
  const { body, contentType } = await encodeForm(form);
  return { body, headers: { "content-type": contentType } };
}

describe("createApp", () => {
  it("answers the classify route with the classifier's result, the model's name and version, and timings", async () => {
    // Act
    const { statusCode, json } = await send(API_HOSTS.lambda, await formRequest("an x-ray"));
    // Assess
    expect(statusCode).toBe(200);
    expect(json).toMatchObject({ ...(CLASSIFIED as { result: object }).result, model: { name: manifest.name, version: manifest.version } });
    expect(Object.keys(json.timingsMs)).toEqual(["parse", "preprocess", "inference"]);
  });

  it("refuses explain=true with 400 when the model has no class activation map, before classifying", async () => {
    // Prepare
    const { explanation: _, ...withoutMap } = manifest;
    const asked: boolean[] = [];
    const images: ImageClassifier = {
      manifest: withoutMap,
      async classifyImages(files, options) {
        asked.push(Boolean(options?.explain));
        return files.map(() => CLASSIFIED);
      },
    };
    // Act
    const { statusCode, json } = await send(API_HOSTS.lambda, { ...(await formRequest("an x-ray")), query: new URLSearchParams("explain=true") }, deps(async () => images));
    // Assess
    expect(statusCode).toBe(400);
    expect(json.error.message).toMatch(/has no class activation map/);
    expect(asked).toEqual([]);
  });

  it("answers an image the classifier refuses with that image's error", async () => {
    // Act
    const { statusCode, json } = await send(API_HOSTS.lambda, await formRequest("corrupt"));
    // Assess
    expect(statusCode).toBe(422);
    expect(json.error.code).toBe("UNUSABLE_IMAGE");
  });

  it("answers each file of a batch with its own result or error, in the form's order", async () => {
    // Act
    const { statusCode, json } = await send(API_HOSTS.batching, { path: "/pneumonia_classifier/batch", ...(await formRequest("a", "corrupt", "b")) });
    // Assess
    expect(statusCode).toBe(200);
    expect(json.results.map((result: { file: string; status: number }) => [result.file, result.status])).toEqual([
      ["x0.jpeg", 200],
      ["x1.jpeg", 422],
      ["x2.jpeg", 200],
    ]);
    expect(json.results[1].error.code).toBe("UNUSABLE_IMAGE");
    expect(json.results[0].prediction).toBe("PNEUMONIA");
  });

  it("answers a wrong method with 405 and Allow listing the route's methods", async () => {
    // Act
    const { statusCode, headers, json } = await send(API_HOSTS.lambda, { method: "GET" });
    // Assess
    expect(statusCode).toBe(405);
    expect(headers.allow).toBe("POST");
    expect(json.error.code).toBe("METHOD_NOT_ALLOWED");
  });

  it("answers an unknown path with 404 and points to /docs", async () => {
    // Act
    const { statusCode, json } = await send(API_HOSTS.batching, { method: "GET", path: "/predict" });
    // Assess
    expect(statusCode).toBe(404);
    expect(json.error).toEqual({ code: "NOT_FOUND", message: expect.stringContaining("see /docs") });
  });

  it.each([
    ["the Lambda function", API_HOSTS.lambda, "/metrics", "/gpu/metrics on this API"],
    ["npm start", API_HOSTS.local, "/metrics", "/metrics on the batching server (npm run start:gpu)"],
    ["npm start", API_HOSTS.local, "/pneumonia_classifier/batch", "/pneumonia_classifier/batch on the batching server (npm run start:gpu)"],
  ])("answers a batching-server route on %s with 404 saying where it is served (%s)", async (_host, host, path, where) => {
    // Act
    const { statusCode, json } = await send(host, { method: "GET", path });
    // Assess
    expect(statusCode).toBe(404);
    expect(json.error.message).toBe(`${path} is served by the batching server only; use ${where}.`);
  });

  it("answers 503 with Retry-After while the classifier is temporarily unavailable, on /health too", async () => {
    // Prepare
    const starting = deps(async () => {
      throw new TemporarilyUnavailableError(ERROR_CODES.modelUnavailable, "Warming up; retry in a few seconds.", 5);
    });
    // Act
    const classify = await send(API_HOSTS.batching, await formRequest("an x-ray"), starting);
    const health = await send(API_HOSTS.batching, { method: "GET", path: "/health" }, starting);
    // Assess
    for (const answer of [classify, health]) {
      expect(answer.statusCode).toBe(503);
      expect(answer.headers["retry-after"]).toBe("5");
      expect(answer.json.error.code).toBe("MODEL_UNAVAILABLE");
    }
  });

  it("answers 503 MODEL_UNAVAILABLE without Retry-After when the model cannot load, and still serves the documents", async () => {
    // Prepare
    const broken = deps(async () => {
      throw new ModelUnavailableError("The model could not be loaded; retry later.");
    });
    // Act
    const health = await send(API_HOSTS.local, { method: "GET", path: "/health" }, broken);
    const openApi = await send(API_HOSTS.local, { method: "GET", path: "/openapi.json" }, broken);
    // Assess
    expect(health.statusCode).toBe(503);
    expect(health.headers).not.toHaveProperty("retry-after");
    expect(health.json.error.code).toBe("MODEL_UNAVAILABLE");
    expect(openApi.statusCode).toBe(200);
    expect(openApi.json.info.version).toBe("unknown");
  });

  it("answers an unexpected failure with 500, without its message", async () => {
    // Prepare
    const failing = deps(async () => {
      throw new Error("ENOENT: /var/task/models/pneumonia-cnn/model.onnx");
    });
    // Act
    const { statusCode, json } = await send(API_HOSTS.lambda, await formRequest("an x-ray"), failing);
    // Assess
    expect(statusCode).toBe(500);
    expect(json.error.code).toBe("INTERNAL_ERROR");
    expect(json.error.message).not.toContain("ENOENT");
  });

  it("refuses a compressed body with 415", async () => {
    // Prepare
    const request = await formRequest("an x-ray");
    // Act
    const { statusCode, json } = await send(API_HOSTS.lambda, { ...request, headers: { ...request.headers, "content-encoding": "gzip" } });
    // Assess
    expect(statusCode).toBe(415);
    expect(json.error.message).toContain("uncompressed");
  });

  it.each([
    ["the Lambda function", API_HOSTS.lambda, "4.49 MiB", "or send it to /gpu/pneumonia_classifier on this API, which takes up to 10 MiB."],
    ["npm start", API_HOSTS.local, "4.49 MiB", "or send it to /pneumonia_classifier on the batching server (npm run start:gpu), which takes up to 10 MiB."],
    ["the batching server", API_HOSTS.batching, "10 MiB", "send a smaller image."],
  ])("refuses a body over the limit of %s with 413 saying what to do there", async (_name, host, limit, advice) => {
    // Prepare
    const { body, contentType } = await imageForm(Buffer.alloc(host.maxBodyBytes, 1));
    // Act
    const { statusCode, json } = await send(host, { body, headers: { "content-type": contentType } });
    // Assess
    expect(statusCode).toBe(413);
    expect(json.error.code).toBe("PAYLOAD_TOO_LARGE");
    expect(json.error.message).toMatch(new RegExp(`^The request body is over ${limit.replace(".", "\\.")}[;,]`));
    expect(json.error.message.endsWith(advice)).toBe(true);
  });

  it.each([
    ["the Lambda function", API_HOSTS.lambda, "4.49 MiB"],
    ["the batching server", API_HOSTS.batching, "10 MiB"],
  ])("states the body limit of %s in the OpenAPI document", async (_name, host, limit) => {
    // Act
    const openApi = await send(host, { method: "GET", path: "/openapi.json" });
    // Assess
    const description: string = openApi.json.paths["/pneumonia_classifier"].post.description;
    expect(description).toContain(`On this host the whole request may be at most ${limit}`);
  });

  it("documents explain on both classify routes and the heatmap's fixed scale, with the model's numbers, in the OpenAPI document", async () => {
    // Act
    const openApi = await send(API_HOSTS.batching, { method: "GET", path: "/openapi.json" });
    // Assess
    const scale = `white (255) at logit ${manifest.explanation!.scale.white.toFixed(3)} and above`;
    for (const path of ["/pneumonia_classifier", "/pneumonia_classifier/batch"]) {
      expect(openApi.json.paths[path].post.parameters).toEqual([expect.objectContaining({ name: "explain", in: "query", schema: { type: "string", enum: ["true"] } })]);
    }
    expect(openApi.json.components.schemas.Explanation.properties.heatmap.description).toContain(scale);
    expect(openApi.json.paths["/pneumonia_classifier"].post.parameters[0].description).toContain(scale);
  });
});

describe("createApp's request outcomes", () => {
  /** Sends one request to an app whose observer keeps what it is told. */
  async function outcomeOf(host: ApiHost, request: Partial<CoreRequest>, images: AppDependencies["images"] = async () => fakeImages) {
    const outcomes: RequestOutcome[] = [];
    const { statusCode } = await send(host, request, { images, observe: (outcome) => outcomes.push(outcome) });
    expect(outcomes).toHaveLength(1);
    return { statusCode, outcome: outcomes[0]! };
  }

  it("reports a classified request's route, status, model, label, PNEUMONIA probability and timings", async () => {
    // Act
    const { outcome } = await outcomeOf(API_HOSTS.lambda, await formRequest("an x-ray"));
    // Assess
    expect(outcome).toEqual({
      route: "classify",
      status: 200,
      error: undefined,
      model: { name: manifest.name, version: manifest.version },
      images: [{ label: "PNEUMONIA", pneumoniaProbability: 0.9, timingsMs: { preprocess: 1, inference: 1 } }],
      timingsMs: { parse: expect.any(Number), total: expect.any(Number) },
    });
  });

  it("names the loaded model in every later log line", async () => {
    // Act
    await outcomeOf(API_HOSTS.lambda, await formRequest("an x-ray"));
    // Assess
    expect(logger.getPersistentLogAttributes()).toMatchObject({ model: { name: manifest.name, version: manifest.version } });
  });

  it("reports a refused image as the request's error, with the model that refused it", async () => {
    // Act
    const { outcome } = await outcomeOf(API_HOSTS.lambda, await formRequest("corrupt"));
    // Assess
    expect(outcome).toMatchObject({ route: "classify", status: 422, error: { status: 422, code: "UNUSABLE_IMAGE" }, model: { version: manifest.version }, images: [] });
  });

  it("reports each image of a batch: its label, or its own error", async () => {
    // Act
    const { outcome } = await outcomeOf(API_HOSTS.batching, { path: "/pneumonia_classifier/batch", ...(await formRequest("a", "corrupt")) });
    // Assess
    expect(outcome).toMatchObject({ route: "classifyBatch", status: 200, error: undefined });
    expect(outcome.images).toEqual([expect.objectContaining({ label: "PNEUMONIA" }), { status: 422, code: "UNUSABLE_IMAGE" }]);
  });

  it("reports a failure before the model loaded without a model", async () => {
    // Prepare
    const broken = async () => {
      throw new ModelUnavailableError("The model could not be loaded; retry later.");
    };
    // Act
    const { outcome } = await outcomeOf(API_HOSTS.lambda, await formRequest("an x-ray"), broken);
    // Assess
    expect(outcome).toMatchObject({ route: "classify", status: 503, error: { status: 503, code: "MODEL_UNAVAILABLE" }, images: [] });
    expect(outcome.model).toBeUndefined();
  });

  it("reports a request no route takes without a route", async () => {
    // Act
    const { outcome } = await outcomeOf(API_HOSTS.lambda, { method: "GET", path: "/predict" });
    // Assess
    expect(outcome).toMatchObject({ status: 404, error: { code: "NOT_FOUND" } });
    expect(outcome.route).toBeUndefined();
  });

  it("answers the request when the observer throws", async () => {
    // Prepare
    const observe = () => {
      throw new RangeError("metrics broke");
    };
    // Act
    const { statusCode } = await send(API_HOSTS.lambda, await formRequest("an x-ray"), { images: async () => fakeImages, observe });
    // Assess
    expect(statusCode).toBe(200);
  });
});
