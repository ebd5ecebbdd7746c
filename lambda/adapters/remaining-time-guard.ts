import { ERROR_CODES, TemporarilyUnavailableError } from "../core/errors.js";
import type { ImageClassifier } from "../core/model/image-classifier.js";

/**
 * What a classification is taken to need before this environment has timed one: more than the slowest image
 * `npm run fuzz` has seen (about 0.4 s), so a fresh environment never starts what it may not finish.
 */
const PRIOR_MS_PER_IMAGE = 500;
/** Room for an image slower than the average: the estimate is an average, and some X-rays take twice as long. */
const SAFETY_FACTOR = 2;
/** Time for the answer to get back out through Lambda and API Gateway once classified. */
const ANSWER_MS = 100;
/** Share of the newest classification in the moving estimate. */
const NEWEST_WEIGHT = 0.2;

/**
 * The Lambda route's admission by time: a classification that the invocation's remaining time
 * (context.getRemainingTimeInMillis()) cannot cover gets a fast, honest 503 OUT_OF_TIME with Retry-After,
 * instead of running into the function's timeout and ending as API Gateway's bare 502/504. What a
 * classification needs is a moving estimate of this environment's own time per image.
 */
export class RemainingTimeGuard {
  private msPerImage: number | undefined;

  /** The time `images` images need here now, answer included. */
  neededMs(images: number): number {
    return Math.ceil(images * SAFETY_FACTOR * (this.msPerImage ?? PRIOR_MS_PER_IMAGE) + ANSWER_MS);
  }

  /** The classifier, refusing any classification that `remainingMs()` cannot cover, and timing those it runs. */
  guard(classifier: ImageClassifier, remainingMs: () => number): ImageClassifier {
    return {
      manifest: classifier.manifest,
      classifyImages: async (images, options) => {
        const left = remainingMs();
        const needed = this.neededMs(images.length);
        if (left < needed) {
          throw new TemporarilyUnavailableError(
            ERROR_CODES.outOfTime,
            `This invocation has ${left} ms left, less than the ${needed} ms a classification needs here; send the request again.`,
            1,
          );
        }
        const started = performance.now();
        const outcomes = await classifier.classifyImages(images, options);
        const sample = (performance.now() - started) / images.length;
        this.msPerImage = this.msPerImage === undefined ? sample : this.msPerImage + NEWEST_WEIGHT * (sample - this.msPerImage);
        return outcomes;
      },
    };
  }
}
