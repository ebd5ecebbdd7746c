import { getEventListeners } from "node:events";
import { readFile } from "node:fs/promises";
import { afterEach, describe, expect, it } from "vitest";
import { PreprocessPool } from "../../lambda/server/preprocess-pool.js";
import { preprocessImage } from "../../lambda/core/model/preprocess.js";
import { defaultModelDir, readManifest } from "../../lambda/core/model/manifest.js";
import { xrayFixtures } from "../../tools/support/forms.js";
import { PayloadTooLargeError, UnsupportedMediaTypeError, UnusableImageError } from "../../lambda/core/errors.js";
import { jpegDeclaring } from "../support/crafted-images.js";

const WORKER = new URL("../../lambda/preprocess-worker.ts", import.meta.url);
const HANGING_WORKER = new URL("../support/hanging-preprocess-worker.ts", import.meta.url);
const spec = (await readManifest(defaultModelDir())).input.preprocessing;

let pool: PreprocessPool | undefined;
afterEach(async () => {
  await pool?.close();
  pool = undefined;
});

describe("PreprocessPool", () => {
  it("computes on its workers exactly the tensors the core computes in process", async () => {
    // Prepare
    pool = await PreprocessPool.start({ workerUrl: WORKER, threads: 2, spec, taskTimeoutMs: 10_000 });
    const images = await Promise.all((await xrayFixtures()).map((fixture) => readFile(fixture.path)));
    // Act
    const fromWorkers = await Promise.all(images.map((bytes) => pool!.preprocess(bytes)));
    // Assess
    for (const [i, bytes] of images.entries()) {
      const inProcess = await preprocessImage(bytes, spec);
      expect(fromWorkers[i]!.header).toEqual(inProcess.header);
      expect(Buffer.from(fromWorkers[i]!.tensor.buffer).equals(Buffer.from(inProcess.tensor.buffer))).toBe(true);
    }
  });

  it("answers a refused image with the core's error, rebuilt as its own subclass on this side of the thread", async () => {
    // Prepare
    pool = await PreprocessPool.start({ workerUrl: WORKER, threads: 1, spec, taskTimeoutMs: 10_000 });
    const [fixture] = await xrayFixtures();
    const truncated = (await readFile(fixture!.path)).subarray(0, 2000);
    const refused = [
      [truncated, UnusableImageError, 422, "UNUSABLE_IMAGE"],
      [Buffer.from("patient notes, not an image"), UnsupportedMediaTypeError, 415, "UNSUPPORTED_MEDIA_TYPE"],
      [jpegDeclaring(60_000, 60_000), PayloadTooLargeError, 413, "IMAGE_TOO_LARGE"],
    ] as const;
    // Act
    const errors = await Promise.all(refused.map(([bytes]) => pool!.preprocess(bytes).catch((error: unknown) => error)));
    // Assess
    refused.forEach(([, type, status, code], i) => {
      expect(errors[i]).toBeInstanceOf(type);
      expect(errors[i]).toMatchObject({ status, code });
    });
  });

  it("answers an image over the time limit with 422 and replaces its worker, so the next image is answered too", async () => {
    // Prepare: no X-ray is preprocessed in a millisecond, so every image overruns.
    pool = await PreprocessPool.start({ workerUrl: WORKER, threads: 1, spec, taskTimeoutMs: 1 });
    const [fixture] = await xrayFixtures();
    const bytes = await readFile(fixture!.path);
    // Act
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await pool.preprocess(bytes).catch((error: unknown) => error));
    // Assess
    for (const answer of answers) expect(answer).toMatchObject({ status: 422, message: expect.stringMatching(/took over/) });
  });

  it("gives the next image to a new worker, not to the one it is stopping after an overrun", async () => {
    // Prepare: a worker that hangs on demand, so the overrun is certain and its worker busy to the end
    pool = await PreprocessPool.start({ workerUrl: HANGING_WORKER, threads: 1, spec, taskTimeoutMs: 200 });
    const overrun = await pool.preprocess(Buffer.from("hang")).catch((error: unknown) => error);
    // Act
    const next = await pool.preprocess(Buffer.from("an image")).catch((error: unknown) => error);
    // Assess
    expect(overrun).toMatchObject({ status: 422, message: expect.stringMatching(/took over/) });
    expect(next).toEqual({ header: { type: "image/png", width: 2, height: 2, orientation: 1 }, tensor: new Float32Array(4) });
  });

  it("stops watching an image's signal once a worker takes it, so the request's signal does not keep its bytes in memory", async () => {
    // Prepare: one request's signal, which outlives its images' wait (a kept-alive connection's last request)
    pool = await PreprocessPool.start({ workerUrl: WORKER, threads: 1, spec, taskTimeoutMs: 60_000 });
    const request = new AbortController();
    const bytes = await readFile((await xrayFixtures())[0]!.path);
    // Act
    await Promise.all([pool.preprocess(bytes, { signal: request.signal }), pool.preprocess(bytes, { signal: request.signal })]);
    // Assess
    expect(getEventListeners(request.signal, "abort")).toHaveLength(0);
  });

  it("drops an image whose signal aborts while it waits for a worker, at once, before any worker takes it", async () => {
    // Prepare: the one worker busy for good, and an image queued behind it
    pool = await PreprocessPool.start({ workerUrl: HANGING_WORKER, threads: 1, spec, taskTimeoutMs: 60_000 });
    void pool.preprocess(Buffer.from("hang")).catch(() => undefined);
    const budget = new AbortController();
    const waiting = pool.preprocess(Buffer.from("an image"), { signal: budget.signal });
    // Act
    budget.abort(new Error("budget spent"));
    // Assess
    await expect(waiting).rejects.toThrow("budget spent");
    expect(pool.queued).toBe(0);
  });

  it("refuses the images still waiting when it closes", async () => {
    // Prepare
    pool = await PreprocessPool.start({ workerUrl: WORKER, threads: 1, spec, taskTimeoutMs: 10_000 });
    const [fixture] = await xrayFixtures();
    const bytes = await readFile(fixture!.path);
    const queued = [1, 2, 3].map(() => pool!.preprocess(bytes).catch((error: unknown) => error));
    // Act
    await pool.close();
    // Assess
    const refused = (await Promise.all(queued)).filter((answer) => (answer as { status?: number }).status === 503);
    expect(refused.length).toBeGreaterThanOrEqual(2);
  });
});
