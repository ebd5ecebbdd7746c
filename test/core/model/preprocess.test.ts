import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { deflateSync } from "node:zlib";
import { PNG } from "pngjs";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { decodeImage, preprocessImage, warmUpPreprocessing } from "../../../lambda/core/model/preprocess.js";
import { readManifest, defaultModelDir } from "../../../lambda/core/model/manifest.js";
import { FIXTURES, anyXray } from "../../../tools/support/forms.js";
import { greyPng } from "../../support/crafted-images.js";
import { decodeGreyScaled } from "../../../lambda/core/model/libjpeg-turbo/scaled-jpeg-decoder.js";
import { jpegDecodeSize } from "../../../lambda/core/model/scaled-jpeg-format.js";
import { readImageHeader } from "../../../lambda/core/model/image-header.js";
import { downscaleToGrey } from "../../../lambda/core/model/area-downscale.js";
import { greyToTensor } from "../../../lambda/core/model/grey-tensor.js";

const spec = (await readManifest(defaultModelDir())).input.preprocessing;

function correlation(a: Float32Array, b: Float32Array): number {
  const mean = (x: Float32Array) => x.reduce((s, v) => s + v, 0) / x.length;
  const [ma, mb] = [mean(a), mean(b)];
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += (a[i]! - ma) * (b[i]! - mb);
    aa += (a[i]! - ma) ** 2;
    bb += (b[i]! - mb) ** 2;
  }
  return ab / Math.sqrt(aa * bb);
}

/** A grey image encoded by pngjs as grey (0), RGB (2) or RGBA (6) 8-bit PNG. */
function png8(width: number, height: number, pixel: (x: number, y: number) => number, colorType: 0 | 2 | 6): Buffer {
  const png = new PNG({ width, height });
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
    const v = pixel(x, y);
    png.data.set([v, v, v, 255], (y * width + x) * 4);
  }
  return PNG.sync.write(png, { colorType, inputColorType: 6, inputHasAlpha: true });
}

/** A 16-bit grey PNG, which pngjs only writes from 16-bit input. */
function png16(width: number, height: number, pixel: (x: number, y: number) => number): Buffer {
  const rows = Buffer.alloc(height * (1 + width * 2));
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) rows.writeUInt16BE(pixel(x, y) * 257, y * (1 + width * 2) + 1 + x * 2);
  return greyPng(width, height, 16, deflateSync(rows));
}

describe("preprocessImage", () => {
  it("turns a full-resolution X-ray into a standardised tensor of the model's input size", async () => {
    // Act
    const { header, tensor } = await preprocessImage(await anyXray(), spec);
    // Assess
    expect(header.type).toBe("image/jpeg");
    expect(tensor).toHaveLength(spec.width * spec.height);
    const mean = tensor.reduce((s, v) => s + v, 0) / tensor.length;
    const std = Math.sqrt(tensor.reduce((s, v) => s + (v - mean) ** 2, 0) / tensor.length);
    expect(Math.abs(mean)).toBeLessThan(0.1);
    expect(std).toBeGreaterThan(0.8);
    expect(std).toBeLessThan(1.2);
  });

  it("gives a full-resolution original nearly the tensor of its 224-pixel training copy", async () => {
    // Prepare: the training data were downscaled elsewhere; serving downscales originals itself
    const name = "person1247_virus_2115.jpeg";
    const original = await readFile(join(FIXTURES, "xrays", "PNEUMONIA", name));
    const trainingCopy = await readFile(join(FIXTURES, "chest_xray", "sample", "PNEUMONIA", name));
    // Act
    const [served, trained] = await Promise.all([preprocessImage(original, spec), preprocessImage(trainingCopy, spec)]);
    // Assess
    expect(correlation(served.tensor, trained.tensor)).toBeGreaterThan(0.99);
  });

  it("reads grey, 16-bit, RGB and RGBA PNGs alike", async () => {
    // Prepare
    const gradient = (x: number, y: number) => (x * 2 + y) % 256;
    const kinds = [png8(200, 160, gradient, 0), png16(200, 160, gradient), png8(200, 160, gradient, 2), png8(200, 160, gradient, 6)];
    // Act
    const tensors = await Promise.all(kinds.map(async (png) => (await preprocessImage(png, spec)).tensor));
    // Assess
    for (const tensor of tensors.slice(1)) expect(correlation(tensor, tensors[0]!)).toBeGreaterThan(0.999);
  });

  it("refuses a JPEG truncated after its header with 422", async () => {
    const xray = await anyXray();
    await expect(preprocessImage(xray.subarray(0, 1500), spec)).rejects.toMatchObject({ status: 422, code: "UNUSABLE_IMAGE" });
  });

  it("gives an upright JPEG, decoded straight to grey, the tensor jimp's decode of it gives", async () => {
    // Prepare: the path an EXIF-rotated JPEG takes, through jimp's RGBA bitmap
    const xray = await anyXray();
    const header = readImageHeader(xray);
    const { bitmap } = await decodeImage(xray, header, spec);
    const throughJimp = greyToTensor(downscaleToGrey(bitmap.data, bitmap.width, bitmap.height, spec.width, spec.height), spec);
    // Act
    const { tensor } = await preprocessImage(xray, spec);
    // Assess
    expect(header.orientation).toBe(1);
    expect(Array.from(tensor)).toEqual(Array.from(throughJimp));
  });

  it("gives an EXIF-rotated JPEG the tensor of the upright X-ray, orientation applied after the scaled decode", async () => {
    // Prepare: stored turned a quarter left, with EXIF orientation 6 saying to turn it back
    const xray = await anyXray();
    const rotated = await sharp(xray).rotate(-90).withMetadata({ orientation: 6 }).jpeg({ quality: 95 }).toBuffer();
    // Act
    const [upright, fromRotated] = await Promise.all([preprocessImage(xray, spec), preprocessImage(rotated, spec)]);
    // Assess
    expect(fromRotated.header.orientation).toBe(6);
    expect(correlation(fromRotated.tensor, upright.tensor)).toBeGreaterThan(0.99);
  });

  it("refuses with 422 and libjpeg's reason a JPEG whose scan libjpeg finds damaged, even if it says only one extraneous byte", async () => {
    // Prepare: one bit flipped 3 % into the file. libjpeg's only complaint is one byte left over before the
    // end-of-image marker, yet the Huffman decoding lost step there and nearly a third of the pixels are wrong:
    // no libjpeg warning about the pixel data is harmless
    const xray = await anyXray();
    const damaged = Buffer.from(xray);
    damaged[2315]! ^= 0x10;
    const painted = decodeGreyScaled(damaged, { ...jpegDecodeSize(spec), failOnWarning: false });
    const whole = decodeGreyScaled(xray, jpegDecodeSize(spec));
    const wrong = whole.data.filter((value, i) => Math.abs(value - painted.data[i]!) > 8).length / whole.data.length;
    // Act
    const attempt = preprocessImage(damaged, spec);
    // Assess
    expect(wrong).toBeGreaterThan(0.2);
    await expect(attempt).rejects.toMatchObject({ status: 422, code: "UNUSABLE_IMAGE", message: expect.stringMatching(/1 extraneous bytes before marker 0xd9.*send the original X-ray/) });
  });

  it("answers a JPEG whose only libjpeg warning says nothing about the pixels (an unknown JFIF revision)", async () => {
    // Prepare: JFIF 2.01 in the APP0 segment
    const xray = await anyXray();
    const revised = Buffer.from(xray);
    expect(revised.toString("latin1", 6, 11)).toBe("JFIF\0");
    revised[11] = 2;
    // Act
    const [original, fromRevised] = await Promise.all([preprocessImage(xray, spec), preprocessImage(revised, spec)]);
    // Assess
    expect(fromRevised.tensor).toEqual(original.tensor);
  });
});

describe("warmUpPreprocessing", () => {
  it("runs its embedded JPEG through the whole preprocessing", async () => {
    // Act, Assess
    await expect(warmUpPreprocessing(spec)).resolves.toBeUndefined();
  });
});
