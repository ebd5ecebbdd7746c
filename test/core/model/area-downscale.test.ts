import { describe, expect, it } from "vitest";
import { downscaleGrey, downscaleToGrey } from "../../../lambda/core/model/area-downscale.js";

/** RGBA pixels from grey levels, or from [r, g, b] triples. */
const rgba = (pixels: (number | [number, number, number])[]) =>
  Uint8Array.from(pixels.flatMap((p) => (typeof p === "number" ? [p, p, p, 255] : [...p, 255])));

describe("downscaleToGrey", () => {
  it("averages each output pixel over the whole block it covers", () => {
    // Prepare: 4x4 grey, four 2x2 blocks
    const image = rgba([10, 20, 100, 100, 30, 40, 100, 100, 0, 0, 255, 255, 0, 0, 255, 253]);
    // Act & Assess
    expect(Array.from(downscaleToGrey(image, 4, 4, 2, 2))).toEqual([25, 100, 0, 255]);
  });

  it("shares pixels that straddle two outputs by the area each covers", () => {
    // 3 pixels into 2: the middle one counts half for each side
    expect(Array.from(downscaleToGrey(rgba([0, 90, 180]), 3, 1, 2, 1))).toEqual([30, 150]);
  });

  it("weights colour by BT.601 luma", () => {
    expect(Array.from(downscaleToGrey(rgba([[255, 0, 0], [0, 255, 0], [0, 0, 255], [77, 77, 77]]), 4, 1, 4, 1))).toEqual([76, 150, 29, 77]);
  });

  it("gives a grey image the same result as the colour path would", () => {
    const levels = Array.from({ length: 40 * 30 }, (_, i) => (i * 37) % 256);
    const greyResult = downscaleToGrey(rgba(levels), 40, 30, 8, 6);
    // One barely coloured pixel sends the image down the colour path.
    const tinted = rgba(levels);
    tinted[1] = tinted[0]! === 255 ? 254 : tinted[0]! + 1;
    const colourResult = downscaleToGrey(tinted, 40, 30, 8, 6);
    expect(Array.from(colourResult).slice(1)).toEqual(Array.from(greyResult).slice(1));
  });
});

describe("downscaleGrey", () => {
  it("gives one grey byte a pixel the result its RGBA copy gets", () => {
    // Prepare: an odd size, so pixels straddle outputs on both axes
    const levels = Array.from({ length: 53 * 41 }, (_, i) => (i * 89) % 256);
    // Act
    const fromGrey = downscaleGrey(Uint8Array.from(levels), 53, 41, 16, 12);
    // Assess
    expect(Array.from(fromGrey)).toEqual(Array.from(downscaleToGrey(rgba(levels), 53, 41, 16, 12)));
  });
});
