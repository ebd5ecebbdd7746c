import { toApiError } from "../core/errors.js";
import { imageClassification, type ClassifyOptions, type ImageClassification, type ImageClassifier, type ImageOutcome } from "../core/model/image-classifier.js";
import type { ModelManifest } from "../core/model/manifest.js";
import { assertChestXray } from "../core/model/assert-chest-xray.js";
import type { InferenceBatcher } from "./inference-batcher.js";
import type { PreprocessPool } from "./preprocess-pool.js";
import type { ServerMetrics } from "./server-metrics.js";
import type { Admission, AdmissionControl } from "./admission-control.js";

/**
 * Classifies images through the worker pool and the dynamic batcher, admitting a request whole or refusing it
 * whole with 503 and Retry-After (AdmissionControl: by count and by time), so memory and latency stay bounded
 * and a client backs off instead of waiting in a queue that only grows. An image still waiting for a worker or
 * a batch when its request's budget runs out is dropped with 503 before it reaches the model.
 */
export class BatchingImageClassifier implements ImageClassifier {
  constructor(
    readonly manifest: ModelManifest,
    private readonly pool: PreprocessPool,
    private readonly batcher: InferenceBatcher,
    private readonly admission: AdmissionControl,
    private readonly metrics?: ServerMetrics,
    /** The admission the request being served got from its headers, if it got one there. @default - none: admitted here */
    private readonly admittedFromHeaders: () => Admission | undefined = () => undefined,
  ) {}

  /** Images admitted and not yet answered. */
  get inFlight(): number {
    return this.admission.admitted;
  }

  async classifyImages(images: readonly Uint8Array[], { explain = false }: ClassifyOptions = {}): Promise<ImageOutcome[]> {
    const admitted = this.admittedFromHeaders() ?? this.admission.admit(images.length);
    admitted.holdFor(images.length);
    return Promise.all(
      images.map((bytes) =>
        this.classifyOne(bytes, explain, admitted.signal).then(
          (outcome) => (admitted.imageDone(false), outcome),
          (error: unknown) => (admitted.imageDone(error === admitted.signal.reason), toApiError(error)),
        ),
      ),
    );
  }

  private async classifyOne(bytes: Uint8Array, explain: boolean, signal: AbortSignal): Promise<ImageClassification> {
    const started = performance.now();
    const { header, tensor } = await this.pool.preprocess(bytes, { signal });
    const preprocessed = performance.now();
    const result = await this.batcher.classify(tensor, { explain, signal });
    assertChestXray(result);
    const answer = imageClassification(header, result, this.manifest, started, preprocessed);
    this.metrics?.onImage(answer.timingsMs);
    return answer;
  }
}
