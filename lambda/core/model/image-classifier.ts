import { toApiError, type ApiError } from "../errors.js";
import { preprocessImage } from "./preprocess.js";
import { assertChestXray } from "./assert-chest-xray.js";
import type { Classification, OnnxModel } from "./onnx-model.js";
import type { ImageHeader } from "./image-header.js";
import type { ModelManifest } from "./manifest.js";
import { explanationOf, type Explanation } from "./explanation.js";

/** The model's answer for one uploaded image, with what was learnt on the way. */
export interface ImageClassification {
  header: ImageHeader;
  result: Classification;
  /**
   * Milliseconds from the image's arrival to its tensor (preprocess) and from its tensor to its answer
   * (inference). A batching host counts its queues in them: time waiting for a worker or a batch.
   */
  timingsMs: { preprocess: number; inference: number };
  /** Where the model looked. @default - none: not asked for */
  explanation?: Explanation;
}

/** What a client asks of every image of a request besides its classification. */
export interface ClassifyOptions {
  /** Adds each image's class activation map (explain=true); the model must have an explanation output. @default false */
  explain?: boolean;
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
  classifyImages(images: readonly Uint8Array[], options?: ClassifyOptions): Promise<ImageOutcome[]>;
}

/**
 * An image's answer from its classification, timed from its arrival (`started`) and its tensor (`preprocessed`)
 * to now: the class activation map, when there is one, drawn as the answer's PNG first, so its time counts as inference.
 */
export function imageClassification(
  header: ImageHeader,
  { cam, ...result }: Classification,
  manifest: ModelManifest,
  started: number,
  preprocessed: number,
): ImageClassification {
  const explanation = cam && manifest.explanation && explanationOf(cam, manifest.explanation);
  const timingsMs = { preprocess: millis(started, preprocessed), inference: millis(preprocessed) };
  return explanation ? { header, result, timingsMs, explanation } : { header, result, timingsMs };
}

/** Milliseconds between two performance.now() readings, to 0.01 ms. */
export const millis = (from: number, to: number = performance.now()) => Math.round((to - from) * 100) / 100;

/** Preprocesses and classifies on the calling thread, one image after the other: one Lambda request at a time. */
export function inProcessImageClassifier(model: OnnxModel): ImageClassifier {
  const classifyOne = async (bytes: Uint8Array, explain: boolean): Promise<ImageClassification> => {
    const started = performance.now();
    const { header, tensor } = await preprocessImage(bytes, model.manifest.input.preprocessing);
    const preprocessed = performance.now();
    const result = await model.classify(tensor, explain);
    assertChestXray(result);
    return imageClassification(header, result, model.manifest, started, preprocessed);
  };
  return {
    manifest: model.manifest,
    async classifyImages(images, { explain = false } = {}) {
      const outcomes: ImageOutcome[] = [];
      for (const bytes of images) outcomes.push(await classifyOne(bytes, explain).catch(toApiError));
      return outcomes;
    },
  };
}
