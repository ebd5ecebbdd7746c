import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OodGate } from "../../../lambda/core/model/ood-gate.js";
import type { GateManifest } from "../../../lambda/core/model/manifest.js";
import { ModelLoadError } from "../../../lambda/core/model/model-load-error.js";

let scratch: string;

/**
 * A 2-dimensional gate written as training/gate.py writes one: W = [[2, 1], [0, 1]] (upper triangular, as the
 * transposed Cholesky factor is), class means (0, 0) and (1, 1), so W times them is (0, 0) and (3, 1).
 */
async function twoDimensionalGate(bytes = new Float32Array([2, 1, 0, 1, 0, 0, 3, 1])): Promise<{ dir: string; manifest: GateManifest }> {
  const dir = await mkdtemp(join(scratch, "gate-"));
  const buffer = Buffer.from(bytes.buffer);
  await writeFile(join(dir, "gate.f32"), buffer);
  const sha256 = createHash("sha256").update(buffer).digest("hex");
  return { dir, manifest: { file: "gate.f32", sha256, featuresOutput: "features", dimensions: 2, classes: 2, threshold: 1.5 } };
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "pneumonia-ood-gate-"));
});

afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe("OodGate", () => {
  it("scores features by their Mahalanobis distance to the nearest class mean", async () => {
    // Prepare
    const { dir, manifest } = await twoDimensionalGate();
    const gate = await OodGate.load(dir, manifest);
    // Act: W (1, 1) = (3, 1), on the second centre; W (2, -1) = (3, -1), 2 from it; W (-1, 0) = (-2, 0), 2 from the first
    const verdicts = [new Float32Array([1, 1]), new Float32Array([2, -1]), new Float32Array([-1, 0])].map((features) => gate.judge(features));
    // Assess
    expect(verdicts.map((verdict) => verdict.score)).toEqual([0, 2, 2]);
    expect(verdicts.every((verdict) => verdict.threshold === 1.5)).toBe(true);
  });

  it("rejects a statistics file of the wrong size for its dimensions with a ModelLoadError", async () => {
    // Prepare
    const { dir, manifest } = await twoDimensionalGate(new Float32Array([2, 1, 0, 1]));
    // Act
    const error = await OodGate.load(dir, manifest).catch((e: unknown) => e);
    // Assess
    expect(error).toBeInstanceOf(ModelLoadError);
    expect((error as ModelLoadError).failure).toBe("manifestInvalid");
  });
});
