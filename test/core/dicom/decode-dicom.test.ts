import { existsSync } from "node:fs";
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { preprocessImage } from "../../../lambda/core/model/preprocess.js";
import { OnnxModel, type Classification } from "../../../lambda/core/model/onnx-model.js";
import { defaultModelDir } from "../../../lambda/core/model/manifest.js";
import { readDicomImage } from "../../../lambda/core/dicom/read-dicom-image.js";
import { decodeFrame } from "../../../lambda/core/dicom/decode-frame.js";
import { decodeGreyScaled } from "../../../lambda/core/model/libjpeg-turbo/scaled-jpeg-decoder.js";
import { radiographElements, writeDicom } from "../../../tools/support/dicom-writer.js";
import { toApiError } from "../../../lambda/core/errors.js";

const FIXTURES = "test/fixtures/dicom";
const BASE = join(FIXTURES, "chest/CR-MONO1-10-chest-no-meta.dcm");
const SAMPLE = "test/fixtures/chest_xray/sample";
/** The real chest files beside the repository (../shared, as CI has it); the committed fixtures cover them where it is absent. */
const SHARED_CHEST = join(import.meta.dirname, "..", "..", "..", "..", "shared", "data", "dicom", "chest");
const LOSSY = /lossy|near|extended/;

let model: OnnxModel;

/** The model's answer (probability and gate score) for a file, whether or not the gate would let it through. */
async function answer(bytes: Uint8Array): Promise<Classification> {
  const { tensor } = await preprocessImage(bytes, model.manifest.input.preprocessing);
  return model.classify(tensor);
}

const pneumonia = (result: Classification) => result.probabilities.PNEUMONIA;

beforeAll(async () => {
  model = await OnnxModel.load(defaultModelDir(), { threads: 1 });
});

describe("DICOM input, real files", () => {
  it("gives each transcode of a real chest CR the original's answer: within 0.01 lossless, 0.03 lossy (12-bit JPEG Extended among them)", async () => {
    // Prepare
    const reference = await answer(await readFile(BASE));
    const names = await readdir(join(FIXTURES, "transcodes"));
    // Act
    const answers = await Promise.all(names.map(async (name) => [name, await answer(await readFile(join(FIXTURES, "transcodes", name)))] as const));
    // Assess
    expect(names.length).toBe(10);
    for (const [name, result] of answers) {
      const tolerance = LOSSY.test(name) ? 0.03 : 0.01;
      expect(Math.abs(pneumonia(result) - pneumonia(reference)), name).toBeLessThanOrEqual(tolerance);
      expect(Math.abs(result.gate!.score - reference.gate!.score), name).toBeLessThanOrEqual(LOSSY.test(name) ? 0.5 : 0.05);
    }
  });

  it("leaves the uploaded bytes as they were after decoding on the codec thread", async () => {
    // Prepare: a file whose one fragment dicom-parser hands back as a view into the upload
    const bytes = await readFile(join(FIXTURES, "transcodes/CR-MONO1-10-j2k.dcm"));
    const copy = Buffer.from(bytes);
    // Act
    await answer(bytes);
    // Assess
    expect(bytes.equals(copy)).toBe(true);
  });

  it("decodes every lossless transcode to the original's stored values exactly", async () => {
    // Prepare
    const original = await decodeFrame(readDicomImage(await readFile(BASE)));
    const names = (await readdir(join(FIXTURES, "transcodes"))).filter((name) => !LOSSY.test(name));
    // Act and Assess
    for (const name of names) {
      const words = await decodeFrame(readDicomImage(await readFile(join(FIXTURES, "transcodes", name))));
      expect(Array.from(words), name).toEqual(Array.from(original));
    }
  });

  it("decodes a 12-bit JPEG Extended frame to 16-bit words, the original's values x4 within the lossy error", async () => {
    // Prepare: dcmcjpeg +ee spreads the 10 stored bits (0..979 here) over 12 (and scales the window likewise)
    const original = await decodeFrame(readDicomImage(await readFile(BASE)));
    const image = readDicomImage(await readFile(join(FIXTURES, "transcodes/CR-MONO1-10-jpeg-extended-12.dcm")));
    // Act
    const words = await decodeFrame(image);
    // Assess
    expect(words).toBeInstanceOf(Uint16Array);
    expect(words).toHaveLength(original.length);
    const largest = (values: ArrayLike<number>) => Array.from(values).reduce((a, b) => Math.max(a, b));
    const scale = largest(words) / largest(original);
    expect(scale).toBeGreaterThan(3.9);
    expect(scale).toBeLessThan(4.1);
    const meanError = Array.from(words).reduce((sum, word, i) => sum + Math.abs(word - original[i]! * scale), 0) / words.length;
    expect(meanError).toBeLessThan(8);
  });

  it.each([
    ["truncated in its scan", (frame: Uint8Array) => frame.subarray(0, frame.length >> 1)],
    ["with a stray RST marker in its scan", (frame: Uint8Array) => Uint8Array.from([...frame.subarray(0, frame.length >> 1), 0xff, 0xd5, ...frame.subarray(frame.length >> 1)])],
  ])("refuses a 12-bit JPEG Extended frame %s with 422, and decodes the next file", async (_, corrupt) => {
    // Prepare
    const bytes = await readFile(join(FIXTURES, "small/cr-crop-jpeg-extended-12.dcm"));
    const image = readDicomImage(bytes);
    const broken = writeDicom(
      radiographElements({ rows: image.rows, columns: image.columns, bitsAllocated: 16, bitsStored: 12, photometric: "MONOCHROME1", pixels: { fragments: [corrupt(image.pixelData)] } }),
      { transferSyntax: "1.2.840.10008.1.2.4.51" },
    );
    // Act
    const error = await answer(broken).catch(toApiError);
    const after = await answer(bytes);
    // Assess
    expect(error).toMatchObject({ status: 422, code: "UNUSABLE_IMAGE", message: expect.stringContaining("JPEG frame cannot be decoded") });
    expect(after.probabilities.PNEUMONIA).toBeGreaterThanOrEqual(0);
  });

  it("refuses a JPEG frame whose sample precision disagrees with Bits Allocated with 422", async () => {
    // Prepare: the 12-bit frame declared as 8 bits allocated
    const image = readDicomImage(await readFile(join(FIXTURES, "small/cr-crop-jpeg-extended-12.dcm")));
    const mislabelled = writeDicom(radiographElements({ rows: image.rows, columns: image.columns, pixels: { fragments: [image.pixelData] } }), {
      transferSyntax: "1.2.840.10008.1.2.4.51",
    });
    // Act
    const error = await answer(mislabelled).catch(toApiError);
    // Assess
    expect(error).toMatchObject({ status: 422, message: expect.stringContaining("12-bit samples where its header declares 8 bits allocated") });
  });

  it("refuses a JPEG-LS frame on which CharLS never returns with 422 within the decode budget, and decodes the next file (found by npm run fuzz)", async () => {
    // Prepare
    const hangs = await readFile(join(FIXTURES, "hostile/charls-never-returns-1.dcm"));
    const started = performance.now();
    // Act
    const error = await answer(hangs).catch(toApiError);
    const after = await answer(await readFile(join(FIXTURES, "small/cr-crop-jpegls.dcm")));
    // Assess
    expect(error).toMatchObject({ status: 422, code: "UNUSABLE_IMAGE", message: expect.stringContaining("did not decode within") });
    expect(performance.now() - started).toBeLessThan(15_000);
    expect(after.probabilities.PNEUMONIA).toBeGreaterThanOrEqual(0);
  });

  it.each(["animal-lateral-thorax-dx.dcm", "no-pixel-data.dcm", "pydicom-CT_small.dcm", "pydicom-MR_small_RLE.dcm", "pydicom-SC_rgb_rle_2frame.dcm", "pydicom-reportsi.dcm", "pydicom-rtplan.dcm", "pydicom-SC_rgb_small_odd.dcm"])(
    "answers %s of refuse/ with a 4xx and a message, or the gate's refusal",
    async (name) => {
      // Act
      const outcome = await answer(await readFile(join(FIXTURES, "refuse", name))).then(
        (result) => ({ status: result.gate!.score > result.gate!.threshold ? 422 : 200, message: "gate" }),
        (error: unknown) => toApiError(error),
      );
      // Assess
      expect(outcome.status).toBeGreaterThanOrEqual(400);
      expect(outcome.status).toBeLessThan(500);
      expect(outcome.message).not.toBe("");
    },
  );

  it.runIf(existsSync(SHARED_CHEST))("decodes every real chest file of ../shared/data/dicom/chest", async () => {
    // Prepare
    const names = await readdir(SHARED_CHEST);
    // Act
    const results = await Promise.all(names.map((name) => readFile(join(SHARED_CHEST, name)).then(answer)));
    // Assess
    expect(results).toHaveLength(7);
    for (const result of results) expect(result.gate!.score).toBeGreaterThan(0);
  });
});

/** A sample X-ray JPEG's grey pixels at full size, as libjpeg decodes them (its luma). */
async function samplePixels(path: string) {
  const jpeg = await readFile(path);
  return { jpeg, ...decodeGreyScaled(jpeg, { minWidth: Infinity, minHeight: Infinity }) };
}

async function samples(): Promise<string[]> {
  const labels = await readdir(SAMPLE);
  return (await Promise.all(labels.map(async (label) => (await readdir(join(SAMPLE, label))).map((name) => join(SAMPLE, label, name))))).flat();
}

describe("DICOM input, X-rays wrapped as DICOM", () => {
  it("gives each sample X-ray wrapped as DICOM its JPEG's answer within 0.02: encapsulated JPEG, MONOCHROME2 8-bit, MONOCHROME1 12-bit with a window, big endian, deflated", async () => {
    for (const path of await samples()) {
      // Prepare
      const { jpeg, data, width, height } = await samplePixels(path);
      const fromJpeg = pneumonia(await answer(jpeg));
      const twelveBitInverted = Uint16Array.from(data, (level) => (255 - level) * 16 + 8);
      const files = {
        encapsulated: writeDicom(
          radiographElements({ rows: height, columns: width, pixels: { fragments: [jpeg] } }).map((element) =>
            element.tag === 0x00280004 ? { ...element, value: "YBR_FULL_422" } : element.tag === 0x00280002 ? { ...element, value: [3] } : element,
          ),
          { transferSyntax: "1.2.840.10008.1.2.4.50" },
        ),
        monochrome2: writeDicom(radiographElements({ rows: height, columns: width, pixels: data })),
        monochrome1: writeDicom(
          radiographElements({ rows: height, columns: width, bitsAllocated: 16, bitsStored: 12, photometric: "MONOCHROME1", window: { center: 2048, width: 4096 }, pixels: twelveBitInverted }),
        ),
        bigEndian: writeDicom(radiographElements({ rows: height, columns: width, bitsAllocated: 16, bitsStored: 12, photometric: "MONOCHROME1", window: { center: 2048, width: 4096 }, pixels: twelveBitInverted }), {
          transferSyntax: "1.2.840.10008.1.2.2",
        }),
        deflated: writeDicom(radiographElements({ rows: height, columns: width, pixels: data }), { transferSyntax: "1.2.840.10008.1.2.1.99" }),
        bare: writeDicom(radiographElements({ rows: height, columns: width, pixels: data }), { transferSyntax: "1.2.840.10008.1.2", part10: false }),
      };
      // Act
      for (const [kind, file] of Object.entries(files)) {
        const fromDicom = pneumonia(await answer(file));
        // Assess
        expect(Math.abs(fromDicom - fromJpeg), `${path} as ${kind}`).toBeLessThanOrEqual(0.02);
      }
    }
  });

  it("gives a MONOCHROME1 copy of a MONOCHROME2 image the same answer", async () => {
    // Prepare
    const [path] = await samples();
    const { data, width, height } = await samplePixels(path!);
    const monochrome2 = writeDicom(radiographElements({ rows: height, columns: width, pixels: data }));
    const monochrome1 = writeDicom(radiographElements({ rows: height, columns: width, photometric: "MONOCHROME1", pixels: data.map((level) => 255 - level) }));
    // Act
    const [two, one] = [await answer(monochrome2), await answer(monochrome1)];
    // Assess
    expect(one.probabilities).toEqual(two.probabilities);
  });
});
