import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import sharp from "sharp";
import { beforeAll, describe, expect, it } from "vitest";
import {
  JpegDecodeError,
  decodeGrey12,
  decodeGreyScaled,
  readJpegHeader,
  scaleFor,
  warmScaledJpegDecoder,
  type ScaledGreyImage,
} from "../../../../lambda/core/model/libjpeg-turbo/scaled-jpeg-decoder.js";
import { FIXTURES, anyXray, xrayFixtures } from "../../../../tools/support/forms.js";

const DECODER_URL = new URL("../../../../lambda/core/model/libjpeg-turbo/scaled-jpeg-decoder.ts", import.meta.url);
/** Whatever the size, decode at 1/1. */
const FULL_SIZE = { minWidth: Number.MAX_SAFE_INTEGER, minHeight: Number.MAX_SAFE_INTEGER };
/** Twice the 128x128 model input, as the service will ask. */
const TWICE_THE_INPUT = { minWidth: 256, minHeight: 256 };

interface Difference {
  mean: number;
  max: number;
}

function difference(actual: ArrayLike<number>, expected: ArrayLike<number>): Difference {
  let sum = 0;
  let max = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i]! - expected[i]!);
    sum += d;
    max = Math.max(max, d);
  }
  return { mean: sum / expected.length, max };
}

/** Each n x n block of a grey image averaged (blocks cut by the right and bottom edges average what they hold). */
function boxAverage(image: ScaledGreyImage, n: number): Float32Array {
  const width = Math.ceil(image.width / n);
  const height = Math.ceil(image.height / n);
  const out = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let sum = 0;
      let count = 0;
      for (let sy = y * n; sy < Math.min((y + 1) * n, image.height); sy++) {
        for (let sx = x * n; sx < Math.min((x + 1) * n, image.width); sx++, count++) sum += image.data[sy * image.width + sx]!;
      }
      out[y * width + x] = sum / count;
    }
  }
  return out;
}

/** A copy of a JPEG whose start-of-frame marker (SOF0 or SOF2) declares another size. */
function withDeclaredSize(jpeg: Buffer, width: number, height: number): Buffer {
  const edited = Buffer.from(jpeg);
  const sof = Math.max(edited.indexOf(Buffer.from([0xff, 0xc0])), edited.indexOf(Buffer.from([0xff, 0xc2])));
  edited.writeUInt16BE(height, sof + 5);
  edited.writeUInt16BE(width, sof + 7);
  return edited;
}

let xrays: { name: string; bytes: Buffer }[];

beforeAll(async () => {
  xrays = await Promise.all((await xrayFixtures()).map(async ({ name, path }) => ({ name, bytes: await readFile(path) })));
  warmScaledJpegDecoder();
});

describe("scaleFor", () => {
  it("picks the largest of 1/2, 1/4 and 1/8 that keeps both sides at least the minimum", () => {
    // Prepare, Act, Assess
    expect(scaleFor(2048, 2048, 256, 256)).toBe(8);
    expect(scaleFor(2040, 2048, 256, 256)).toBe(4);
    expect(scaleFor(1506, 833, 256, 256)).toBe(2);
    expect(scaleFor(1940, 1816, 256, 256)).toBe(4);
  });

  it("counts a side libjpeg rounds up as reaching the minimum", () => {
    // Prepare: 1021 / 4 = 255.25, which libjpeg decodes as 256 pixels
    const [width, height] = [1021, 2000];
    // Act
    const scale = scaleFor(width, height, 256, 256);
    // Assess
    expect(scale).toBe(4);
  });

  it("answers 1/1 for an image already smaller than the minimum", () => {
    expect(scaleFor(224, 224, 256, 256)).toBe(1);
    expect(scaleFor(300, 200, 256, 256)).toBe(1);
  });
});

describe("decodeGreyScaled", () => {
  // Tolerance: none beyond one grey level. sharp decodes with libjpeg-turbo too (mozjpeg's, with SIMD), whose
  // accurate integer IDCT gives the same pixels as the C code built here: all 64 originals match exactly. One
  // level is allowed for a SIMD implementation on another CPU; ignoreIcc because the X-rays carry a grey ICC
  // profile that sharp applies by default (about 13 levels brighter on average) and the model never sees.
  it("decodes the X-ray fixtures at 1/1 to the size and pixels of sharp's greyscale decode", async () => {
    for (const { name, bytes } of xrays) {
      // Prepare
      const expected = await sharp(bytes, { ignoreIcc: true }).greyscale().raw().toBuffer({ resolveWithObject: true });
      // Act
      const image = decodeGreyScaled(bytes, FULL_SIZE);
      // Assess
      expect({ name, width: image.width, height: image.height, scale: image.scale }).toEqual({
        name,
        width: expected.info.width,
        height: expected.info.height,
        scale: 1,
      });
      const { mean, max } = difference(image.data, expected.data);
      expect(max, name).toBeLessThanOrEqual(1);
      expect(mean, name).toBeLessThan(0.01);
    }
  });

  it("decodes the X-ray fixtures at 1/2, 1/4 and 1/8 to ceil(side / N), close to the full decode averaged over N x N", () => {
    for (const { name, bytes } of xrays) {
      // Prepare
      const full = decodeGreyScaled(bytes, FULL_SIZE);
      for (const scale of [2, 4, 8] as const) {
        const wanted = { minWidth: Math.ceil(full.width / scale), minHeight: Math.ceil(full.height / scale) };
        // Act
        const image = decodeGreyScaled(bytes, wanted);
        // Assess: libjpeg scales in the DCT, not by averaging, so pixels differ a little, most at hard edges
        expect({ name, scale: image.scale, width: image.width, height: image.height }).toEqual({
          name,
          scale,
          width: Math.ceil(full.width / scale),
          height: Math.ceil(full.height / scale),
        });
        expect(image.data).toHaveLength(image.width * image.height);
        expect(difference(image.data, boxAverage(full, scale)).mean, `${name} at 1/${scale}`).toBeLessThan(1.5);
      }
    }
  });

  it("decodes at the largest reduction that keeps both sides at least twice the model input", () => {
    for (const { name, bytes } of xrays) {
      // Prepare
      const { width, height } = readJpegHeader(bytes);
      // Act
      const image = decodeGreyScaled(bytes, TWICE_THE_INPUT);
      // Assess
      expect(Math.min(image.width, image.height), name).toBeGreaterThanOrEqual(256);
      if (image.scale < 8) expect(Math.min(Math.ceil(width / (image.scale * 2)), Math.ceil(height / (image.scale * 2))), name).toBeLessThan(256);
    }
  });

  it("decodes a colour JPEG to its BT.601 luma", async () => {
    // Prepare: smooth colour gradients, so JPEG's loss stays small
    const [width, height] = [320, 240];
    const rgb = Buffer.alloc(width * height * 3);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const i = 3 * (y * width + x);
        rgb[i] = (x * 255) / width;
        rgb[i + 1] = (y * 255) / height;
        rgb[i + 2] = 255 - (x * 255) / width;
      }
    }
    const colour = await sharp(rgb, { raw: { width, height, channels: 3 } }).jpeg({ quality: 95, chromaSubsampling: "4:2:0" }).toBuffer();
    const decodedRgb = await sharp(colour, { ignoreIcc: true }).raw().toBuffer();
    const luma = new Float32Array(width * height).map((_, i) => 0.299 * decodedRgb[3 * i]! + 0.587 * decodedRgb[3 * i + 1]! + 0.114 * decodedRgb[3 * i + 2]!);
    // Act
    const image = decodeGreyScaled(colour, FULL_SIZE);
    // Assess: the Y channel against luma computed from sharp's RGB decode, each rounded to whole levels
    expect(readJpegHeader(colour).components).toBe(3);
    expect([image.width, image.height]).toEqual([width, height]);
    const { mean, max } = difference(image.data, luma);
    expect(max).toBeLessThan(1.5);
    expect(mean).toBeLessThan(0.5);
  });

  it("decodes a progressive JPEG like sharp, at 1/1 and reduced", async () => {
    // Prepare
    const progressive = await sharp(await anyXray()).jpeg({ progressive: true, quality: 90 }).toBuffer();
    const expected = await sharp(progressive, { ignoreIcc: true }).greyscale().raw().toBuffer({ resolveWithObject: true });
    // Act
    const full = decodeGreyScaled(progressive, FULL_SIZE);
    const reduced = decodeGreyScaled(progressive, TWICE_THE_INPUT);
    // Assess
    expect(readJpegHeader(progressive).progressive).toBe(true);
    expect([full.width, full.height]).toEqual([expected.info.width, expected.info.height]);
    expect(difference(full.data, expected.data).max).toBeLessThanOrEqual(1);
    expect([reduced.width, reduced.height, reduced.scale]).toEqual([Math.ceil(full.width / 2), Math.ceil(full.height / 2), 2]);
  });

  it("refuses a 12-bit JPEG with an error that says so", async () => {
    // Prepare
    const twelveBit = await readFile(join(import.meta.dirname, "fixtures", "twelve-bit.jpeg"));
    // Act
    const attempt = () => decodeGreyScaled(twelveBit, TWICE_THE_INPUT);
    // Assess
    expect(attempt).toThrow(JpegDecodeError);
    expect(attempt).toThrow(/precision 12/);
  });

  it("decodes a 12-bit JPEG with the 12-bit build to its 0..4095 gradient, and refuses an 8-bit one there", async () => {
    // Prepare: the fixture's samples are (x * 64 + y) % 4096 (fixtures/README.md)
    const twelveBit = await readFile(join(import.meta.dirname, "fixtures", "twelve-bit.jpeg"));
    const gradient = Uint16Array.from({ length: 64 * 64 }, (_, i) => ((i % 64) * 64 + Math.floor(i / 64)) % 4096);
    const xray = await anyXray();
    // Act
    const decoded = decodeGrey12(twelveBit);
    const eightBit = () => decodeGrey12(xray);
    // Assess
    expect([decoded.width, decoded.height, decoded.data.length]).toEqual([64, 64, 64 * 64]);
    expect(decoded.data).toBeInstanceOf(Uint16Array);
    expect(difference(decoded.data, gradient).mean).toBeLessThan(16);
    expect(eightBit).toThrow(/precision 8/);
    expect(decodeGreyScaled(xray, TWICE_THE_INPUT).width).toBeGreaterThanOrEqual(256);
  });

  it("refuses truncated JPEGs, random bytes and corrupt scans, 100 times each, and decodes a valid X-ray after", async () => {
    // Prepare
    const xray = await anyXray();
    const expected = decodeGreyScaled(xray, TWICE_THE_INPUT);
    const poison = await readFile(join(FIXTURES, "fuzz", "jpeg-breaks-decoder-instance.jpeg"));
    const truncated = xray.subarray(0, Math.floor(xray.length / 2));
    let seed = 1;
    const random = () => Uint8Array.from({ length: 4096 }, () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff);
    const randomAfterSoi = () => Uint8Array.from([0xff, 0xd8, 0xff, ...random()]);
    // Act
    const messages = new Set<string>();
    for (let i = 0; i < 100; i++) {
      for (const bad of [truncated, poison, random(), randomAfterSoi()]) {
        try {
          decodeGreyScaled(bad, TWICE_THE_INPUT);
          messages.add("decoded");
        } catch (error) {
          messages.add(error instanceof JpegDecodeError ? error.name : String(error));
        }
      }
    }
    const after = decodeGreyScaled(xray, TWICE_THE_INPUT);
    // Assess
    expect(messages).toEqual(new Set(["JpegDecodeError"]));
    expect(after).toEqual(expected);
  });

  it("names the reason: premature end for a truncated JPEG, not a JPEG for other bytes", async () => {
    // Prepare
    const xray = await anyXray();
    // Act, Assess
    expect(() => decodeGreyScaled(xray.subarray(0, 20_000), TWICE_THE_INPUT)).toThrow(/Premature end of JPEG file/);
    expect(() => decodeGreyScaled(Buffer.from("GIF89a, not a JPEG at all"), TWICE_THE_INPUT)).toThrow(/Not a JPEG file/);
    expect(() => decodeGreyScaled(new Uint8Array(0), TWICE_THE_INPUT)).toThrow(JpegDecodeError);
  });

  it("refuses a header declaring more pixels than the limit, before decoding", async () => {
    // Prepare: a 3 KB progressive JPEG whose header declares 30000x30000
    const small = await sharp(await anyXray()).resize(64, 64).jpeg({ progressive: true }).toBuffer();
    const huge = withDeclaredSize(small, 30_000, 30_000);
    // Act
    const attempt = () => decodeGreyScaled(huge, TWICE_THE_INPUT);
    // Assess
    expect(readJpegHeader(huge)).toMatchObject({ width: 30_000, height: 30_000 });
    expect(attempt).toThrow(JpegDecodeError);
    expect(attempt).toThrow(/declares 30000x30000 pixels, more than the 25 megapixels/);
  });

  it("fails cleanly on a huge declared size even without the pixel limit, and decodes after", async () => {
    // Prepare: the progressive one would need 1.8 GB of coefficients; the baseline one has no data for its rows
    const xray = await anyXray();
    const expected = decodeGreyScaled(xray, TWICE_THE_INPUT);
    const small = sharp(xray).resize(64, 64);
    const progressive = withDeclaredSize(await small.clone().jpeg({ progressive: true }).toBuffer(), 30_000, 30_000);
    const baseline = withDeclaredSize(await small.clone().jpeg().toBuffer(), 20_000, 20_000);
    const unlimited = { ...TWICE_THE_INPUT, maxPixels: Infinity };
    // Act, Assess
    expect(() => decodeGreyScaled(progressive, unlimited)).toThrow(JpegDecodeError);
    expect(() => decodeGreyScaled(baseline, unlimited)).toThrow(JpegDecodeError);
    expect(decodeGreyScaled(xray, TWICE_THE_INPUT)).toEqual(expected);
  });

  it("decodes on worker threads, each with its own instance, as on the main thread", async () => {
    // Prepare
    const xray = await anyXray();
    const expected = decodeGreyScaled(xray, TWICE_THE_INPUT);
    const bootstrap = `
      const { parentPort, workerData } = require("node:worker_threads");
      import("tsx/esm/api").then(({ register }) => { register(); return import(workerData.decoder); }).then(({ decodeGreyScaled }) => {
        try { decodeGreyScaled(new Uint8Array(100), workerData.options); } catch {}
        parentPort.postMessage(decodeGreyScaled(workerData.bytes, workerData.options));
      });`;
    // Act
    const results = await Promise.all(
      [1, 2].map(
        () =>
          new Promise<ScaledGreyImage>((resolve, reject) => {
            const worker = new Worker(bootstrap, { eval: true, workerData: { decoder: DECODER_URL.href, bytes: xray, options: TWICE_THE_INPUT } });
            worker.once("message", (image: ScaledGreyImage) => void worker.terminate().then(() => resolve(image)));
            worker.once("error", reject);
          }),
      ),
    );
    // Assess
    for (const image of results) expect(image).toEqual(expected);
  });
});
