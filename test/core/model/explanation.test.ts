import { readFile } from "node:fs/promises";
import png from "@jimp/js-png";
import { beforeAll, describe, expect, it } from "vitest";
import { OnnxModel } from "../../../lambda/core/model/onnx-model.js";
import { defaultModelDir, type ExplanationManifest } from "../../../lambda/core/model/manifest.js";
import { preprocessImage } from "../../../lambda/core/model/preprocess.js";
import { inProcessImageClassifier, type ImageClassification } from "../../../lambda/core/model/image-classifier.js";
import { camToGrey } from "../../../lambda/core/model/explanation.js";
import { xrayFixtures } from "../../../tools/support/forms.js";
import { CLEAR_NORMAL, blackShare, hottestFirst, outsideChest } from "../../../tools/support/map-placement.js";

let model: OnnxModel;
let explanation: ExplanationManifest;

beforeAll(async () => {
  model = await OnnxModel.load(defaultModelDir(), { threads: 1 });
  explanation = model.manifest.explanation!;
});

/** A fixture's model input, its classification with the map, and its answer through the in-process classifier. */
async function explained(path: string) {
  const bytes = await readFile(path);
  const { tensor } = await preprocessImage(bytes, model.manifest.input.preprocessing);
  const result = await model.classify(tensor, true);
  const [answer] = await inProcessImageClassifier(model).classifyImages([bytes], { explain: true });
  return { tensor, result, answer: answer as ImageClassification };
}

/** The bytes of a data URL's PNG. */
const pngBytes = (dataUrl: string) => Buffer.from(dataUrl.replace(/^data:image\/png;base64,/, ""), "base64");

describe("explanations", () => {
  it("answers an 8-bit greyscale PNG data URL as large as the model input", async () => {
    // Prepare
    const [fixture] = await xrayFixtures();
    // Act
    const { answer } = await explained(fixture!.path);
    // Assess
    const { width, height } = model.manifest.input.preprocessing;
    expect(answer.explanation).toMatchObject({ method: "CAM", width, height, heatmap: expect.stringMatching(/^data:image\/png;base64,/) });
    const bytes = pngBytes(answer.explanation!.heatmap);
    // IHDR: width and height (4 bytes each, big-endian) from byte 16, then bit depth and colour type (0: greyscale).
    expect([bytes.readUInt32BE(16), bytes.readUInt32BE(20), bytes[24], bytes[25]]).toEqual([width, height, 8, 0]);
  });

  it("draws the map on the manifest's fixed scale: black at or below its black point, white at or above its white point", async () => {
    // Prepare
    const { black, white } = explanation.scale;
    const cam = new Float32Array([black - 5, black, black + (white - black) / 2, white, white + 5]);
    // Act
    const grey = camToGrey(cam, explanation);
    // Assess
    expect([...grey]).toEqual([0, 0, 128, 255, 255]);
  });

  it("encodes in the PNG exactly the map the model computed, on that scale", async () => {
    // Prepare
    const [fixture] = (await xrayFixtures()).filter((f) => f.label === "PNEUMONIA");
    // Act
    const { result, answer } = await explained(fixture!.path);
    // Assess
    const decoded = png().decode(pngBytes(answer.explanation!.heatmap), {});
    const levels = Uint8Array.from({ length: explanation.width * explanation.height }, (_, i) => decoded.data[i * 4]!);
    expect(levels).toEqual(new Uint8Array(camToGrey(result.cam!, explanation)));
  });

  it("leaves the probabilities bit for bit as they are without the map", async () => {
    // Prepare
    const [fixture] = await xrayFixtures();
    const { tensor } = await preprocessImage(await readFile(fixture!.path), model.manifest.input.preprocessing);
    // Act
    const [plain, withMap] = [await model.classify(tensor), await model.classify(tensor, true)];
    // Assess
    expect(withMap.probabilities).toEqual(plain.probabilities);
    expect(plain.cam).toBeUndefined();
  });

  it("has the map's mean at the served logit, as a class activation map of a global-average-pooling model must", async () => {
    // Prepare
    const [fixture] = (await xrayFixtures()).filter((f) => f.label === "PNEUMONIA");
    // Act
    const { result } = await explained(fixture!.path);
    // Assess
    const mean = result.cam!.reduce((sum, v) => sum + v, 0) / result.cam!.length;
    expect(mean).toBeCloseTo(Math.log(result.probabilities.PNEUMONIA / result.probabilities.NORMAL), 2);
  });

  it("puts the hottest tenth of every PNEUMONIA fixture the model calls PNEUMONIA in the chest, peaking over a lung field", async () => {
    let checked = 0;
    for (const fixture of (await xrayFixtures()).filter((f) => f.label === "PNEUMONIA")) {
      // Act
      const { result } = await explained(fixture.path);
      if (result.prediction !== "PNEUMONIA") continue;
      checked++;
      // Assess
      expect(outsideChest(hottestFirst(result.cam!), explanation.width, explanation.height), fixture.name).toEqual([]);
    }
    expect(checked).toBeGreaterThanOrEqual(3);
  });

  it("draws a clear NORMAL fixture's map mostly black", async () => {
    let checked = 0;
    for (const fixture of (await xrayFixtures()).filter((f) => f.label === "NORMAL")) {
      // Act
      const { result, answer } = await explained(fixture.path);
      if (result.probabilities.NORMAL < CLEAR_NORMAL.probability) continue;
      checked++;
      // Assess
      const decoded = png().decode(pngBytes(answer.explanation!.heatmap), {});
      const levels = Array.from({ length: explanation.width * explanation.height }, (_, i) => decoded.data[i * 4]!);
      expect(blackShare(levels), fixture.name).toBeGreaterThan(CLEAR_NORMAL.blackShare);
    }
    expect(checked).toBeGreaterThanOrEqual(3);
  });
});
