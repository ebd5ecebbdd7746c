import type { ErrorCode } from "../errors.js";
import type { ImageClassification } from "../model/image-classifier.js";
import type { Label } from "../model/manifest.js";
import type { RouteName } from "./routes.js";

/** The model a process serves, as answers name it. */
export interface ModelRef {
  readonly name: string;
  readonly version: string;
}

/** One image the model classified. */
export interface ImageAnswer {
  readonly label: Label;
  /** The PNEUMONIA probability, whatever the label. */
  readonly pneumoniaProbability: number;
  /** The out-of-distribution gate's score. @default - none: the model has no gate */
  readonly gateScore?: number;
  readonly timingsMs: { readonly preprocess: number; readonly inference: number };
}

/** An error answer: to a whole request, or to one image of a batch. */
export interface ErrorAnswer {
  readonly status: number;
  readonly code: ErrorCode;
}

/**
 * What one request came to, for its host to measure. It holds figures, labels and codes only: never image
 * bytes, file names or anything else the client sent.
 */
export interface RequestOutcome {
  /** The route that answered. @default - none matched (404, 405) */
  readonly route?: RouteName;
  readonly status: number;
  /** The error answer of a request refused (4xx) or failed (5xx) as a whole. @default - none: answered 200 */
  readonly error?: ErrorAnswer;
  /** The model this process has loaded. @default - none loaded yet */
  readonly model?: ModelRef;
  /** Each image's classification, or its own error answer inside a 200 (a corrupt file in a batch), in the form's order. */
  readonly images: readonly (ImageAnswer | ErrorAnswer)[];
  /** Reading the form (classify route), and the whole request in the core. */
  readonly timingsMs: { readonly parse?: number; readonly total: number };
}

/** Called by the core with each request's outcome once it is answered; what it throws is logged, and the answer still goes out. */
export type RequestObserver = (outcome: RequestOutcome) => void;

/** Whether an image's answer is its classification. */
export function isImageAnswer(answer: ImageAnswer | ErrorAnswer): answer is ImageAnswer {
  return "label" in answer;
}

/** What an outcome reports of a classified image. */
export function imageAnswer({ result, timingsMs }: ImageClassification): ImageAnswer {
  return { label: result.prediction, pneumoniaProbability: result.probabilities.PNEUMONIA, gateScore: result.gate?.score, timingsMs };
}

/** The outcome of every answer the request got, one per answer: each image's label or error code, or the request's error code. */
export function answerOutcomes({ error, images }: RequestOutcome): string[] {
  if (error) return [error.code];
  return images.map((answer) => (isImageAnswer(answer) ? answer.label : answer.code));
}
