import { ERROR_CODES, TemporarilyUnavailableError } from "../core/errors.js";
import { TimePerImage } from "./time-per-image.js";

/** Why the batching server shed work with 503 OVERLOADED, as its metrics label it. */
export const SHED_REASONS = {
  /** QUEUE_MAX_IMAGES images were in flight already. */
  queueFull: "queue-full",
  /** The images in flight and the request's own would take longer than QUEUE_MAX_WAIT_MS. */
  overBudget: "over-budget",
  /** Admitted, but still waiting for a worker or a batch when QUEUE_MAX_WAIT_MS ran out. */
  expired: "expired",
  /** MAX_BUFFERED_MB of request bodies were held already (the HTTP front's bound). */
  bufferFull: "buffer-full",
} as const;

export type ShedReason = (typeof SHED_REASONS)[keyof typeof SHED_REASONS];

/** The bounds of admission; the batching server reads them from its environment. */
export interface AdmissionOptions {
  /** Images admitted at once (QUEUE_MAX_IMAGES). */
  maxInFlight: number;
  /** Latency budget of a request from its admission (QUEUE_MAX_WAIT_MS). */
  maxWaitMs: number;
  /** Whether images are waiting for a worker now: the server is at capacity, and its throughput measures it. */
  saturated: () => boolean;
}

/** What admission reports, for metrics. */
export interface AdmissionObserver {
  onAdmitted(images: number): void;
  onShed(reason: ShedReason): void;
}

/** How an admitted image waits in a queue (for a preprocessing worker, for a batch). */
export interface QueueOptions {
  /** Once aborted, the image is dropped if it is still waiting, and rejected with the signal's reason. */
  signal?: AbortSignal;
}

/** A request's admission: the signal its queued images watch, and the call that hands back each image's place. */
export interface Admission {
  /** Aborted once the request has outlived the budget, with its 503 as the reason: images still queued are dropped. */
  readonly signal: AbortSignal;
  /** One of the request's images is answered; `dropped` when it was dropped unprocessed (its time says nothing of the rate). */
  imageDone(dropped: boolean): void;
}

/**
 * Admission by time: a request is admitted only if the images in flight and its own can be answered within
 * the budget at the measured time per image (and within the count bound); otherwise 503 OVERLOADED, with a
 * Retry-After of the time the queue needs to clear. Admitted requests that outlive the budget anyway (the
 * server slowed down) have their waiting images dropped before they reach the model. An idle server admits
 * any request, so a batch larger than the budget allows is still served when nothing else is.
 */
export class AdmissionControl {
  private inFlight = 0;
  private readonly perImage = new TimePerImage();

  constructor(
    private readonly options: AdmissionOptions,
    private readonly observer: AdmissionObserver = { onAdmitted: () => undefined, onShed: () => undefined },
  ) {}

  /** Images admitted and not yet answered. */
  get admitted(): number {
    return this.inFlight;
  }

  /** Seconds the images in flight need to be answered, at least 1: a refused client's Retry-After. */
  retryAfterSeconds(): number {
    return Math.max(1, Math.ceil((this.inFlight * (this.perImage.ms ?? 0)) / 1000));
  }

  /**
   * The 503 for a request of `images` images if it would be refused now (counted as shed), else undefined;
   * admits nothing, so the HTTP front can ask from the headers before it reads a body.
   */
  refusal(images: number): TemporarilyUnavailableError | undefined {
    const reason = this.shedReason(images);
    return reason === undefined ? undefined : this.shed(reason, images);
  }

  /** The 503 that sheds a request for `reason`, counted as shed. */
  shed(reason: ShedReason, images = 1): TemporarilyUnavailableError {
    this.observer.onShed(reason);
    return this.overloaded(reason, images);
  }

  /** Admits `images` images, or throws the 503 that refuses them. */
  admit(images: number): Admission {
    const refused = this.refusal(images);
    if (refused) throw refused;
    if (this.inFlight === 0) this.perImage.busy(performance.now());
    this.inFlight += images;
    this.observer.onAdmitted(images);
    const controller = new AbortController();
    // Counted as shed when an image is dropped for it, not when the time runs out over images already at work.
    const timer = setTimeout(() => controller.abort(this.overloaded(SHED_REASONS.expired, images)), this.options.maxWaitMs);
    let left = images;
    let anyDropped = false;
    return {
      signal: controller.signal,
      imageDone: (dropped) => {
        this.inFlight--;
        if (--left === 0) clearTimeout(timer);
        if (dropped && !anyDropped) this.observer.onShed(SHED_REASONS.expired);
        anyDropped ||= dropped;
        this.perImage.answered(dropped ? 0 : 1, performance.now(), { idle: this.inFlight === 0, saturated: this.options.saturated() });
      },
    };
  }

  private shedReason(images: number): ShedReason | undefined {
    if (this.inFlight + images > this.options.maxInFlight) return SHED_REASONS.queueFull;
    const perImageMs = this.perImage.ms;
    if (this.inFlight > 0 && perImageMs !== undefined && (this.inFlight + images) * perImageMs > this.options.maxWaitMs) return SHED_REASONS.overBudget;
    return undefined;
  }

  private overloaded(reason: ShedReason, images: number): TemporarilyUnavailableError {
    const retryAfter = this.retryAfterSeconds();
    const retry = `retry after ${retryAfter} s, or send to another instance`;
    const budget = `its ${this.options.maxWaitMs} ms budget (QUEUE_MAX_WAIT_MS)`;
    const message = {
      [SHED_REASONS.queueFull]: `The server is at its limit of ${this.options.maxInFlight} images in progress; ${retry}.`,
      [SHED_REASONS.overBudget]: `The server's queue would take about ${Math.round((this.inFlight + images) * (this.perImage.ms ?? 0))} ms to answer this request, over ${budget}; ${retry}.`,
      [SHED_REASONS.expired]: `The request waited out ${budget} before reaching the model; the server is over capacity: ${retry}.`,
      [SHED_REASONS.bufferFull]: `The server holds as many uploads as it may right now; ${retry}.`,
    }[reason];
    return new TemporarilyUnavailableError(ERROR_CODES.overloaded, message, retryAfter);
  }
}
