import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import scaledJpegFormat, { jpegDecodeSize } from "../../../lambda/core/model/scaled-jpeg-format.js";
import { decodeGreyScaled, readJpegHeader, scaleFor } from "../../../lambda/core/model/libjpeg-turbo/scaled-jpeg-decoder.js";
import { preprocessImage } from "../../../lambda/core/model/preprocess.js";
import { defaultModelDir, readManifest } from "../../../lambda/core/model/manifest.js";
import { FIXTURES, anyXray, xrayFixtures } from "../../../tools/support/forms.js";

const spec = (await readManifest(defaultModelDir())).input.preprocessing;
const format = scaledJpegFormat();

/** The grey channel of a jimp RGBA bitmap, after checking every pixel is grey and opaque. */
function greyOf(rgba: Buffer): Uint8Array {
  const grey = new Uint8Array(rgba.length / 4);
  for (let i = 0; i < grey.length; i++) {
    const [r, g, b, a] = rgba.subarray(4 * i, 4 * i + 4);
    if (r !== g || r !== b || a !== 255) throw new Error(`pixel ${i} is not opaque grey: ${r},${g},${b},${a}`);
    grey[i] = r!;
  }
  return grey;
}

/** The fixture X-ray with the largest shorter side: the one a scaled decode reduces most, at any model input size. */
async function largestXray(): Promise<Buffer> {
  const xrays = await Promise.all((await xrayFixtures()).map(({ path }) => readFile(path)));
  const shorterSide = (jpeg: Buffer) => {
    const { width, height } = readJpegHeader(jpeg);
    return Math.min(width, height);
  };
  return xrays.reduce((largest, xray) => (shorterSide(xray) > shorterSide(largest) ? xray : largest));
}

describe("jpegDecodeSize", () => {
  it("asks for twice the larger side of the model input on both sides, whichever way EXIF turns the image", () => {
    // Act
    const size = jpegDecodeSize({ width: 128, height: 96 });
    // Assess
    expect(size).toEqual({ minWidth: 256, minHeight: 256 });
  });
});

describe("scaledJpegFormat", () => {
  it("decodes a full-resolution X-ray to opaque grey RGBA at the largest reduction that keeps both sides twice the input", async () => {
    // Prepare
    const xray = await largestXray();
    const { width, height } = readJpegHeader(xray);
    const size = jpegDecodeSize(spec);
    const scale = scaleFor(width, height, size.minWidth, size.minHeight);
    // Act
    const bitmap = format.decode(xray, size);
    // Assess
    expect(scale).toBeGreaterThan(1);
    expect([bitmap.width, bitmap.height]).toEqual([Math.ceil(width / scale), Math.ceil(height / scale)]);
    expect(Math.min(bitmap.width, bitmap.height)).toBeGreaterThanOrEqual(2 * Math.max(spec.width, spec.height));
    expect(greyOf(bitmap.data)).toEqual(decodeGreyScaled(xray, size).data);
  });

  it("decodes a 224-pixel training image at full size", async () => {
    // Prepare
    const trainingImage = await readFile(join(FIXTURES, "chest_xray", "sample", "PNEUMONIA", "person1247_virus_2115.jpeg"));
    // Act
    const bitmap = format.decode(trainingImage, jpegDecodeSize(spec));
    // Assess
    expect([bitmap.width, bitmap.height]).toEqual([224, 224]);
  });

  it("decodes at full size without decode options", async () => {
    // Prepare
    const xray = await anyXray();
    // Act
    const bitmap = format.decode(xray);
    // Assess
    expect([bitmap.width, bitmap.height]).toEqual([readJpegHeader(xray).width, readJpegHeader(xray).height]);
  });

  it("keeps decoding valid X-rays after 100 JPEGs that ended MozJPEG's program (found by npm run fuzz)", async () => {
    // Prepare
    const poison = await readFile(join(FIXTURES, "fuzz", "jpeg-breaks-decoder-instance.jpeg"));
    const xray = await anyXray();
    const expected = (await preprocessImage(xray, spec)).tensor;
    // Act
    const refusals = [];
    for (let i = 0; i < 100; i++) refusals.push(await preprocessImage(poison, spec).catch((error: { status: number }) => error.status));
    const after = await preprocessImage(xray, spec);
    // Assess
    expect(new Set(refusals)).toEqual(new Set([422]));
    expect(after.tensor).toEqual(expected);
  });

  it("answers a valid X-ray decoded at the same time as a poison JPEG", async () => {
    // Prepare
    const poison = await readFile(join(FIXTURES, "fuzz", "jpeg-breaks-decoder-instance.jpeg"));
    const xray = await anyXray();
    // Act
    const results = await Promise.allSettled([...Array(20)].flatMap(() => [preprocessImage(poison, spec), preprocessImage(xray, spec)]));
    // Assess
    expect(results.filter((_, i) => i % 2 === 1).every((result) => result.status === "fulfilled")).toBe(true);
  });
});
