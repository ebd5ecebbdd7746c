/**
 * Each window closes after this many images or this much busy time, whichever comes first: a batch answers
 * up to 16 images in the same instant, so a window holds two batches' worth, and half a second keeps the
 * estimate current when the server slows down without one stalled moment (a few images in 250 ms on a
 * shared machine) refusing a load the server carries.
 */
const WINDOW = { images: 32, busyMs: 500 } as const;

/** Share of the newest window in the moving estimate. */
const NEWEST_WEIGHT = 0.3;

/**
 * A moving estimate of the server's time per image at capacity: busy time (while any image is in flight)
 * divided by the images answered in it, in windows, averaged with exponentially decaying weights. That is the
 * inverse of throughput, which is the capacity only while the server is saturated (images wait for a worker at
 * every answer of the window, not just while a burst lasts): a saturated window moves the estimate, an unsaturated one can only lower it (its throughput is what arrived,
 * at most the capacity), and until a saturated window has been seen there is no estimate at all. So a lightly
 * loaded server, whose one-at-a-time latency says nothing of how many it could take, is never held to it.
 */
export class TimePerImage {
  private estimateMs: number | undefined;
  private busySince: number | undefined;
  private windowBusyMs = 0;
  private windowImages = 0;
  private windowSaturated = true;

  /** Milliseconds per image, or undefined until a saturated window has closed. */
  get ms(): number | undefined {
    return this.estimateMs;
  }

  /** The server began holding work at `now` (in flight went from none to some). */
  busy(now: number): void {
    this.busySince ??= now;
  }

  /**
   * `images` were answered at `now` (0: only dropped ones left); `idle` when none is left in flight, `saturated`
   * when images are waiting for a worker.
   */
  answered(images: number, now: number, { idle, saturated }: { idle: boolean; saturated: boolean }): void {
    if (this.busySince === undefined) return;
    this.windowImages += images;
    this.windowSaturated &&= saturated;
    const busyMs = this.windowBusyMs + (now - this.busySince);
    if (idle) {
      this.windowBusyMs = busyMs;
      this.busySince = undefined;
    }
    if (this.windowImages < WINDOW.images && busyMs < WINDOW.busyMs) return;
    // A window in which only dropped images left (none answered) measured nothing: it is let go.
    if (this.windowImages > 0) this.fold(busyMs / this.windowImages, this.windowSaturated);
    this.windowBusyMs = 0;
    this.windowImages = 0;
    this.windowSaturated = true;
    if (!idle) this.busySince = now;
  }

  private fold(sampleMs: number, saturated: boolean): void {
    if (saturated) this.estimateMs = this.estimateMs === undefined ? sampleMs : this.estimateMs + NEWEST_WEIGHT * (sampleMs - this.estimateMs);
    else if (this.estimateMs !== undefined) this.estimateMs = Math.min(this.estimateMs, sampleMs);
  }
}
