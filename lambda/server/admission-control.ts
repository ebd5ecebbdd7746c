import { ERROR_CODES, TemporarilyUnavailableError } from "../core/errors.js";
import { TimePerImage } from "./time-per-image.js";

/** Why the batching server shed work with 503 OVERLOADED, as its metrics label it. */
export const SHED_REASONS = {
  /** QUEUE_MAX_IMAGES images were in flight already. */
  queueFull: "queue-full",
  /** The images in flight and the request's own would take longer than QUEUE_MAX_WAIT_MS, still after waiting as long as what was left of it could answer them. */
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
  /** Latency budget of a request, from when it asks for admission (its headers, on the batching server): QUEUE_MAX_WAIT_MS. */
  maxWaitMs: number;
  /** Whether images are waiting for a worker now: the server is at capacity, and its throughput measures it. */
  saturated: () => boolean;
  /**
   * Images' worth of time an image still needs once it leaves the queues: on the batching server two batches'
   * (2 x BATCH_MAX_SIZE), the batch it may find running and its own. Its request expires that much before the
   * budget ends, so an image that starts that late is dropped rather than answered after the budget. @default 0
   */
  finishImages?: number;
}

/** What admission reports, for metrics. */
export interface AdmissionObserver {
  onAdmitted(images: number): void;
  /** A request was admitted after waiting `ms` for room, its body unread. */
  onAdmissionWait(ms: number): void;
  onShed(reason: ShedReason): void;
}

/**
 * Requests that may wait for admission at once, per place in flight: a waiting request holds a connection and
 * at most one read of its body (64 KiB), so four times QUEUE_MAX_IMAGES of them hold about 32 MiB at the default.
 */
const WAITING_PER_PLACE = 4;

/** A request waiting for room, its body unread. */
interface Waiter {
  images: number;
  arrivedAt: number;
  resolve: (admission: Admission) => void;
  reject: (error: unknown) => void;
  timer: NodeJS.Timeout;
  stopWatching: () => void;
}

/** How an admitted image waits in a queue (for a preprocessing worker, for a batch). */
export interface QueueOptions {
  /** Once aborted, the image is dropped if it is still waiting, and rejected with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * Calls `drop` with the signal's reason if `signal` aborts while an item waits in a queue; returns the call that
 * stops watching, for when the item leaves the queue. A request's signal outlives its items' wait (and, on a
 * kept-alive connection, the request), so a listener left on it would keep the item, and the image it
 * carries, in memory.
 */
export function dropOnAbort(signal: AbortSignal | undefined, drop: (reason: unknown) => void): () => void {
  if (!signal) return () => undefined;
  const onAbort = () => drop(signal.reason);
  signal.addEventListener("abort", onAbort, { once: true });
  return () => signal.removeEventListener("abort", onAbort);
}

/** A request's admission: the signal its queued images watch, and the calls that hold and hand back its places. */
export interface Admission {
  /** Aborted once the request has outlived the budget, with its 503 as the reason: images still queued are dropped. */
  readonly signal: AbortSignal;
  /**
   * Holds places for `images` images in all: a request admitted from its headers with one place takes the
   * rest of a batch's once its form is read. Throws the 503 that refuses the extra places.
   */
  holdFor(images: number): void;
  /** One of the request's images is answered; `dropped` when it was dropped unprocessed (its time says nothing of the rate). */
  imageDone(dropped: boolean): void;
  /** Gives back the places still held: the request ended before its images were all classified (a form refused, say). */
  release(): void;
}

/**
 * Admission by time: a request is admitted only if the images in flight and its own can be answered within
 * what is left of the budget at the measured time per image (and within the count bound). One that does not
 * fit yet waits, unread, for room, newest first: under sustained overload the newest waiting request has the
 * most of its budget left, so it is the one that can still be answered in time, where admitting in arrival
 * order would let the oldest, whose budget is nearly spent, hold up every request behind it until the queue
 * drained to what it can still afford. A request waits until what is left of its budget could no longer
 * answer it even from an empty queue; then 503 OVERLOADED, with a Retry-After of the time the queue needs to
 * clear. Waiting costs nothing but a connection, where an immediate refusal would bring a client that ignores
 * Retry-After straight back with its body (measured in the README: the fewer refusals a second, the more of
 * the cores go to answers).
 * Admitted requests that outlive the budget anyway (the server slowed down) have their queued images dropped
 * before they reach the model. An idle server admits any request, so a batch larger than the budget allows is
 * still served when nothing else is.
 */
export class AdmissionControl {
  private inFlight = 0;
  private readonly perImage = new TimePerImage();
  private readonly waiting: Waiter[] = [];

  constructor(
    private readonly options: AdmissionOptions,
    private readonly observer: AdmissionObserver = { onAdmitted: () => undefined, onAdmissionWait: () => undefined, onShed: () => undefined },
  ) {}

  /** Images admitted and not yet answered. */
  get admitted(): number {
    return this.inFlight;
  }

  /** Seconds the images in flight need to be answered, at least 1: a refused client's Retry-After. */
  retryAfterSeconds(): number {
    return Math.max(1, Math.ceil((this.inFlight * (this.perImage.ms ?? 0)) / 1000));
  }

  /** The 503 that sheds a request for `reason`, counted as shed. */
  shed(reason: ShedReason, images = 1): TemporarilyUnavailableError {
    this.observer.onShed(reason);
    return this.overloaded(reason, images);
  }

  /** Requests waiting for room. */
  get waitingRequests(): number {
    return this.waiting.length;
  }

  /**
   * Admits `images` images as soon as they fit in what is left of the budget, before the requests waiting
   * already (newest first); rejects with the 503 once the wait limit has passed, or at once when too many wait already.
   * `gone` (the client left) ends the wait, rejecting with its reason.
   */
  admitWhenRoom(images: number, gone?: AbortSignal): Promise<Admission> {
    if (this.waiting.length === 0 && this.shedReason(images, 0) === undefined) return Promise.resolve(this.admit(images));
    if (this.waiting.length >= WAITING_PER_PLACE * this.options.maxInFlight) return Promise.reject(this.shed(SHED_REASONS.queueFull, images));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        images,
        arrivedAt: performance.now(),
        resolve,
        reject,
        timer: setTimeout(() => this.leave(waiter, this.shed(this.shedReason(images, 0) ?? SHED_REASONS.overBudget, images)), this.waitLimitMs(images)),
        stopWatching: dropOnAbort(gone, (reason) => this.leave(waiter, reason)),
      };
      this.waiting.push(waiter);
    });
  }

  /**
   * Admits `images` images, or throws the 503 that refuses them (counted as shed). The budget runs from
   * `spentMs` ago: places never taken up by a classification (the client never sent its body) are given back
   * when it runs out.
   */
  admit(images: number, spentMs = 0): Admission {
    const wasIdle = this.inFlight === 0;
    this.take(images, spentMs);
    this.observer.onAdmissionWait(spentMs);
    if (wasIdle) this.perImage.busy(performance.now());
    const controller = new AbortController();
    let held = images;
    let total = images;
    let classifying = false;
    let anyDropped = false;
    const release = () => {
      clearTimeout(timer);
      if (held === 0) return;
      this.inFlight -= held;
      held = 0;
      this.perImage.answered(0, performance.now(), { idle: this.inFlight === 0, saturated: this.options.saturated() });
      this.admitWaiting();
    };
    // Into an idle server nothing runs ahead, so only the budget bounds the wait: a finish allowance measured under
    // load can exceed the whole budget, and would drop every image at once.
    const expiresInMs = this.options.maxWaitMs - spentMs - (wasIdle ? 0 : this.finishMs());
    const timer = setTimeout(() => {
      // Counted as shed when an image is dropped for it, not when the time runs out over images already at work.
      controller.abort(this.overloaded(SHED_REASONS.expired, total));
      if (!classifying) release();
    }, Math.max(0, expiresInMs));
    return {
      signal: controller.signal,
      holdFor: (images) => {
        if (!classifying && controller.signal.aborted) {
          // The budget ran out before the form was read, and the places were given back.
          this.observer.onShed(SHED_REASONS.expired);
          throw controller.signal.reason;
        }
        classifying = true;
        if (images <= total) return;
        this.take(images - total, 0);
        held += images - total;
        total = images;
      },
      imageDone: (dropped) => {
        this.inFlight--;
        if (--held === 0) clearTimeout(timer);
        if (dropped && !anyDropped) this.observer.onShed(SHED_REASONS.expired);
        anyDropped ||= dropped;
        this.perImage.answered(dropped ? 0 : 1, performance.now(), { idle: this.inFlight === 0, saturated: this.options.saturated() });
        this.admitWaiting();
      },
      release,
    };
  }

  /** Takes places for `images` more images, `spentMs` into their budget, or throws the 503 that refuses them. */
  private take(images: number, spentMs: number): void {
    const reason = this.shedReason(images, spentMs);
    if (reason !== undefined) throw this.shed(reason, images);
    this.inFlight += images;
    this.observer.onAdmitted(images);
  }

  /** Admits waiting requests that fit now, newest first. */
  private admitWaiting(): void {
    for (let newest = this.waiting.at(-1); newest; newest = this.waiting.at(-1)) {
      const spentMs = performance.now() - newest.arrivedAt;
      if (this.shedReason(newest.images, spentMs) !== undefined) return;
      this.waiting.pop();
      clearTimeout(newest.timer);
      newest.stopWatching();
      newest.resolve(this.admit(newest.images, spentMs));
    }
  }

  /** Takes a request out of the queue, if it is still there, and rejects it; one older than it may fit now. */
  private leave(waiter: Waiter, error: unknown): void {
    const at = this.waiting.indexOf(waiter);
    if (at === -1) return;
    this.waiting.splice(at, 1);
    clearTimeout(waiter.timer);
    waiter.stopWatching();
    waiter.reject(error);
    if (at === this.waiting.length) this.admitWaiting();
  }

  /**
   * How long a request of `images` images may wait for room: until what is left of its budget could no longer
   * answer it even from an empty queue (its own images and finishImages' worth), at the measured time per
   * image; half the budget before a time is measured.
   */
  private waitLimitMs(images: number): number {
    if (this.perImage.ms === undefined) return this.options.maxWaitMs / 2;
    return Math.max(0, this.options.maxWaitMs - (images + (this.options.finishImages ?? 0)) * this.perImage.ms);
  }

  private shedReason(images: number, spentMs: number): ShedReason | undefined {
    if (this.inFlight + images > this.options.maxInFlight) return SHED_REASONS.queueFull;
    if (this.inFlight > 0 && this.perImage.ms !== undefined && this.answerMs(images) > this.options.maxWaitMs - spentMs) return SHED_REASONS.overBudget;
    return undefined;
  }

  /** Milliseconds to answer the images in flight and `images` more, at the measured time per image, the last one's finish included. */
  private answerMs(images: number): number {
    return (this.inFlight + images) * (this.perImage.ms ?? 0) + this.finishMs();
  }

  /** Milliseconds an image still needs once it leaves the queues (finishImages' worth), at the measured time per image. */
  private finishMs(): number {
    return (this.options.finishImages ?? 0) * (this.perImage.ms ?? 0);
  }

  private overloaded(reason: ShedReason, images: number): TemporarilyUnavailableError {
    const retryAfter = this.retryAfterSeconds();
    const retry = `retry after ${retryAfter} s, or send to another instance`;
    const budget = `its ${this.options.maxWaitMs} ms budget (QUEUE_MAX_WAIT_MS)`;
    const message = {
      [SHED_REASONS.queueFull]: `The server is at its limit of ${this.options.maxInFlight} images in progress; ${retry}.`,
      [SHED_REASONS.overBudget]: `The server's queue would take about ${Math.round(this.answerMs(images))} ms to answer this request, over ${budget}; ${retry}.`,
      [SHED_REASONS.expired]: `The request waited out ${budget} before reaching the model; the server is over capacity: ${retry}.`,
      [SHED_REASONS.bufferFull]: `The server holds as many uploads as it may right now; ${retry}.`,
    }[reason];
    return new TemporarilyUnavailableError(ERROR_CODES.overloaded, message, retryAfter);
  }
}
