import { toApiError, type ApiError } from "../errors.js";
import { preprocessImage } from "./preprocess.js";
import { assertChestXray } from "./assert-chest-xray.js";
import type { Classification, OnnxModel } from "./onnx-model.js";
import type { ImageHeader } from "./image-header.js";
import type { ModelManifest } from "./manifest.js";

/** The model's answer for one uploaded image, with what was learnt on the way. */
export interface ImageClassification {
  header: ImageHeader;
  result: Classification;
  /**
   * Milliseconds from the image's arrival to its tensor (preprocess) and from its tensor to its answer
   * (inference). A batching host counts its queues in them: time waiting for a worker or a batch.
   */
  timingsMs: { preprocess: number; inference: number };
}

/** One image's outcome: its classification, or the error that is its answer (422 for a corrupt file, say). */
export type ImageOutcome = ImageClassification | ApiError;

/**
 * What the routes need to classify uploaded images: the in-process one below for Lambda and the local
 * front, the batching one of lambda/server for the GPU service.
 */
export interface ImageClassifier {
  readonly manifest: ModelManifest;
  /**
   * Classifies every image, answering one outcome per image in their order. Rejects with an ApiError
   * (503 when full, say) when it cannot take them all now, so a request is refused whole or answered whole.
   */
  classifyImages(images: readonly Uint8Array[]): Promise<ImageOutcome[]>;
}

/** Milliseconds between two performance.now() readings, to 0.01 ms. */
export const millis = (from: number, to: number = performance.now()) => Math.round((to - from) * 100) / 100;

/** Preprocesses and classifies on the calling thread, one image after the other: one Lambda request at a time. */
export function inProcessImageClassifier(model: OnnxModel): ImageClassifier {
  const classifyOne = async (bytes: Uint8Array): Promise<ImageClassification> => {
    const started = performance.now();
    const { header, tensor } = await preprocessImage(bytes, model.manifest.input.preprocessing);
    const preprocessed = performance.now();
    const result = await model.classify(tensor);
    assertChestXray(result);
    return { header, result, timingsMs: { preprocess: millis(started, preprocessed), inference: millis(preprocessed) } };
  };
  return {
    manifest: model.manifest,
    async classifyImages(images) {
      const outcomes: ImageOutcome[] = [];
      for (const bytes of images) outcomes.push(await classifyOne(bytes).catch(toApiError));
      return outcomes;
    },
  };
}
