import { describe, expect, it } from "vitest";
import { equaliseHistogram, greyToTensor } from "../../../lambda/core/model/grey-tensor.js";
import type { PreprocessingSpec } from "../../../lambda/core/model/preprocessing-spec.js";

const spec = (equalisation: PreprocessingSpec["equalisation"]): PreprocessingSpec => ({
  width: 2,
  height: 2,
  grey: "bt601-luma",
  equalisation,
  normalisation: { mean: 0.5, std: 0.25 },
});

describe("grey tensor", () => {
  it("spreads any exposure over [0, 1] when equalising", () => {
    const dark = Float32Array.from([10, 10, 20, 30]);
    const bright = Float32Array.from([200, 200, 220, 250]);
    expect(Array.from(equaliseHistogram(dark))).toEqual([0, 0, 0.5, 1]);
    expect(Array.from(equaliseHistogram(bright))).toEqual(Array.from(equaliseHistogram(dark)));
  });

  it("maps a flat image to zeros instead of dividing by zero", () => {
    expect(Array.from(equaliseHistogram(Float32Array.from([90, 90, 90, 90])))).toEqual([0, 0, 0, 0]);
  });

  it("normalises as the spec says", () => {
    expect(Array.from(greyToTensor(Float32Array.from([0, 255, 127.5, 255]), spec("none")))).toEqual([-2, 2, 0, 2]);
    expect(Array.from(greyToTensor(Float32Array.from([10, 10, 20, 30]), spec("histogram")))).toEqual([-2, -2, 0, 2]);
  });
});
