import { ERROR_CODES, TemporarilyUnavailableError, toApiError } from "../core/errors.js";
import { imageClassification, type ClassifyOptions, type ImageClassification, type ImageClassifier, type ImageOutcome } from "../core/model/image-classifier.js";
import type { ModelManifest } from "../core/model/manifest.js";
import { assertChestXray } from "../core/model/assert-chest-xray.js";
import type { InferenceBatcher } from "./inference-batcher.js";
import type { PreprocessPool } from "./preprocess-pool.js";
import type { ServerMetrics } from "./server-metrics.js";

/**
 * Classifies images through the worker pool and the dynamic batcher, admitting at most `maxInFlight` images
 * at a time: past that a request is refused whole with 503 and Retry-After, so memory stays bounded and a
 * client backs off instead of waiting in a queue that only grows.
 */
export class BatchingImageClassifier implements ImageClassifier {
  private admitted = 0;

  constructor(
    readonly manifest: ModelManifest,
    private readonly pool: PreprocessPool,
    private readonly batcher: InferenceBatcher,
    private readonly maxInFlight: number,
    private readonly metrics?: ServerMetrics,
  ) {}

  /** Images admitted and not yet answered. */
  get inFlight(): number {
    return this.admitted;
  }

  async classifyImages(images: readonly Uint8Array[], { explain = false }: ClassifyOptions = {}): Promise<ImageOutcome[]> {
    if (this.admitted + images.length > this.maxInFlight) {
      this.metrics?.onRefused(images.length);
      throw new TemporarilyUnavailableError(
        ERROR_CODES.overloaded,
        `The server is at its limit of ${this.maxInFlight} images in progress; retry after a second, or send to another instance.`,
        1,
      );
    }
    this.admitted += images.length;
    try {
      return await Promise.all(images.map((bytes) => this.classifyOne(bytes, explain).catch(toApiError)));
    } finally {
      this.admitted -= images.length;
    }
  }

  private async classifyOne(bytes: Uint8Array, explain: boolean): Promise<ImageClassification> {
    const started = performance.now();
    const { header, tensor } = await this.pool.preprocess(bytes);
    const preprocessed = performance.now();
    const result = await this.batcher.classify(tensor, explain);
    assertChestXray(result);
    const answer = imageClassification(header, result, this.manifest, started, preprocessed);
    this.metrics?.onImage(answer.timingsMs);
    return answer;
  }
}
