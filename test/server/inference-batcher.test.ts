import { getEventListeners } from "node:events";
import { beforeAll, describe, expect, it } from "vitest";
import { OnnxModel } from "../../lambda/core/model/onnx-model.js";
import { defaultModelDir } from "../../lambda/core/model/manifest.js";
import { InferenceBatcher } from "../../lambda/server/inference-batcher.js";

let model: OnnxModel;
beforeAll(async () => {
  model = await OnnxModel.load(defaultModelDir(), { threads: 1 });
});

/** Distinct inputs, so each answer can be matched to its image. */
const inputs = (count: number) => Array.from({ length: count }, (_, n) => new Float32Array(model.inputSize).map((_, i) => Math.sin(i * (n + 1))));

function recordingBatcher(maxBatchSize: number, maxWaitMs: number) {
  const batches: number[] = [];
  const batcher = new InferenceBatcher(model, { maxBatchSize, maxWaitMs }, { onBatch: (size) => batches.push(size) });
  return { batcher, batches };
}

describe("InferenceBatcher", () => {
  it("runs a full batch at once, without waiting out the delay", async () => {
    // Prepare
    const { batcher, batches } = recordingBatcher(4, 10_000);
    const started = performance.now();
    // Act
    await Promise.all(inputs(4).map((input) => batcher.classify(input)));
    // Assess
    expect(batches).toEqual([4]);
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it("runs a partial batch once its oldest image has waited the delay", async () => {
    // Prepare
    const { batcher, batches } = recordingBatcher(16, 50);
    const started = performance.now();
    // Act
    await Promise.all(inputs(3).map((input) => batcher.classify(input)));
    // Assess
    expect(batches).toEqual([3]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(45);
  });

  it("splits a burst into batches of at most the batch size", async () => {
    // Prepare
    const { batcher, batches } = recordingBatcher(4, 0);
    // Act
    await Promise.all(inputs(10).map((input) => batcher.classify(input)));
    // Assess
    expect(batches.every((size) => size <= 4)).toBe(true);
    expect(batches.reduce((sum, size) => sum + size, 0)).toBe(10);
  });

  it("answers each image with its own result, as the model answers it alone", async () => {
    // Prepare
    const { batcher } = recordingBatcher(8, 20);
    const images = inputs(6);
    const alone = await Promise.all(images.map((input) => model.classify(input)));
    // Act
    const batched = await Promise.all(images.map((input) => batcher.classify(input)));
    // Assess
    batched.forEach((result, i) => expect(result.probabilities.PNEUMONIA).toBeCloseTo(alone[i]!.probabilities.PNEUMONIA, 5));
  });

  it("stops watching an image's signal once it joins a batch, so the request's signal does not keep it in memory", async () => {
    // Prepare: one request's signal, which outlives its images' wait (a kept-alive connection's last request)
    const { batcher } = recordingBatcher(2, 10_000);
    const request = new AbortController();
    // Act
    await Promise.all(inputs(2).map((input) => batcher.classify(input, { signal: request.signal })));
    // Assess
    expect(getEventListeners(request.signal, "abort")).toHaveLength(0);
  });

  it("drops an image whose signal aborts while it waits for a batch, before the model sees it", async () => {
    // Prepare: a batch that waits long to fill, and a request's budget that runs out first
    const { batcher, batches } = recordingBatcher(4, 10_000);
    const budget = new AbortController();
    const [dropped, kept] = inputs(2);
    const waiting = batcher.classify(dropped!, { signal: budget.signal });
    // Act
    budget.abort(new Error("budget spent"));
    // Assess
    await expect(waiting).rejects.toThrow("budget spent");
    expect(batcher.queued).toBe(0);
    await expect(batcher.classify(kept!, { signal: AbortSignal.abort(new Error("spent already")) })).rejects.toThrow("spent already");
    expect(batches).toEqual([]);
  });

  it("fails every image of a batch the model cannot run, and keeps batching", async () => {
    // Prepare
    const { batcher } = recordingBatcher(2, 0);
    // Act
    const failed = batcher.classify(new Float32Array(3));
    // Assess
    await expect(failed).rejects.toMatchObject({ status: 500 });
    await expect(batcher.classify(inputs(1)[0]!)).resolves.toHaveProperty("prediction");
  });
});
