import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { TemporarilyUnavailableError } from "../../lambda/core/errors.js";
import { AdmissionControl, SHED_REASONS, type Admission, type ShedReason } from "../../lambda/server/admission-control.js";

// The clock is the test's, so the measured time per image is exactly what the test makes it.
beforeEach(() => {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });
});
afterEach(() => {
  vi.useRealTimers();
});

function control(maxWaitMs: number, maxInFlight = 1000, saturated = () => true, finishImages = 0) {
  const shed: ShedReason[] = [];
  const admission = new AdmissionControl({ maxInFlight, maxWaitMs, saturated, finishImages }, { onAdmitted: () => undefined, onAdmissionWait: () => undefined, onShed: (reason) => shed.push(reason) });
  return { admission, shed };
}

/** Admits a request of `images` images and starts classifying them, as the server does once its form is read. */
function classifying(admission: AdmissionControl, images: number): Admission {
  const admitted = admission.admit(images);
  admitted.holdFor(images);
  return admitted;
}

/** Answers `count` single-image requests one after another, `msEach` apart: the server's measured pace. */
function answerAtPace(admission: AdmissionControl, count: number, msEach: number): void {
  const admitted: Admission[] = Array.from({ length: count + 1 }, () => classifying(admission, 1));
  for (const one of admitted.slice(0, count)) {
    vi.advanceTimersByTime(msEach);
    one.imageDone(false);
  }
  // The last stays in flight, so the server is still busy and the window measured only answers.
  admitted.at(-1)!.imageDone(false);
}

/** What `observe` sees 1 ms before `ms` from now, and at `ms`: the timers advanced that far. */
function beforeAndAt<T>(ms: number, observe: () => T): [T, T] {
  vi.advanceTimersByTime(ms - 1);
  const before = observe();
  vi.advanceTimersByTime(1);
  return [before, observe()];
}

/** Admits one image; the 503 if it is refused. */
function refusalOfOne(admission: AdmissionControl): TemporarilyUnavailableError | undefined {
  try {
    admission.admit(1);
    return undefined;
  } catch (error) {
    return error as TemporarilyUnavailableError;
  }
}

describe("AdmissionControl", () => {
  it("admits only while the images in flight and the request's own fit the budget at the measured time per image", () => {
    // Prepare: 20 ms an image measured under load, a 3 s budget: room for 150 images
    const { admission, shed } = control(3000);
    answerAtPace(admission, 32, 20);
    // Act
    let admitted = 0;
    let refusal;
    while (!(refusal = refusalOfOne(admission))) admitted++;
    // Assess
    expect(admitted).toBe(150);
    expect(refusal.status).toBe(503);
    expect(refusal.code).toBe("OVERLOADED");
    expect(refusal.message).toMatch(/about 3020 ms to answer this request, over its 3000 ms budget \(QUEUE_MAX_WAIT_MS\)/);
    // 150 images at 20 ms: the queue clears in 3 s.
    expect(refusal.headers["retry-after"]).toBe("3");
    expect(shed).toEqual([SHED_REASONS.overBudget]);
  });

  it("keeps a batch's worth of the budget for the last image's own trip: admits that many fewer, and expires that much sooner", () => {
    // Prepare: 20 ms an image, a 3 s budget, 16 images' worth (320 ms) to finish once out of the queue
    const { admission } = control(3000, 1000, () => true, 16);
    answerAtPace(admission, 32, 20);
    // Act: one image in flight ahead, so the server is not idle when the request watched is admitted
    classifying(admission, 1);
    const first = classifying(admission, 1);
    let admitted = 2;
    let refusal;
    while (!(refusal = refusalOfOne(admission))) admitted++;
    const [abortedEarly, abortedAtTime] = beforeAndAt(3000 - 320, () => first.signal.aborted);
    // Assess: (134 + 16) x 20 ms = 3 s
    expect(admitted).toBe(134);
    expect(refusal!.message).toMatch(/about 3020 ms to answer this request/);
    expect(abortedEarly).toBe(false);
    expect(abortedAtTime).toBe(true);
  });

  it("does not expire a request admitted into an idle server before its budget ends, however long a finish the pace measured", () => {
    // Prepare: 100 ms an image measured under load, 16 images' worth to finish (1.6 s) against a 1 s budget; then idle
    const { admission } = control(1000, 1000, () => true, 16);
    answerAtPace(admission, 32, 100);
    // Act
    const admitted = classifying(admission, 1);
    const [abortedEarly, abortedAtTime] = beforeAndAt(1000, () => admitted.signal.aborted);
    // Assess
    expect(abortedEarly).toBe(false);
    expect(abortedAtTime).toBe(true);
  });

  it("refuses a whole request whose images would not fit, and still admits a smaller one", () => {
    // Prepare: 20 ms an image, a 1 s budget, 40 images in flight: room for 10 more
    const { admission } = control(1000);
    answerAtPace(admission, 32, 20);
    for (let i = 0; i < 40; i++) admission.admit(1);
    // Act
    const batchOf11 = () => admission.admit(11);
    const batchOf10 = () => admission.admit(10);
    // Assess
    expect(batchOf11).toThrow(/over its 1000 ms budget/);
    expect(batchOf10).not.toThrow();
  });

  it("holds a lightly loaded server to the count bound only: one-at-a-time latency says nothing of capacity", () => {
    // Prepare: 200 ms an image, but never an image waiting for a worker
    const { admission } = control(1000, 64, () => false);
    answerAtPace(admission, 32, 200);
    // Act
    let admitted = 0;
    let refusal;
    while (!(refusal = refusalOfOne(admission))) admitted++;
    // Assess: the count bound, not 1000 ms / 200 ms = 5
    expect(admitted).toBe(64);
    expect(refusal.message).toMatch(/at its limit of 64 images in progress/);
  });

  it("admits a request of any size into an idle server", () => {
    // Prepare: 100 ms an image and a 1 s budget: 32 images would take 3.2 s
    const { admission } = control(1000);
    answerAtPace(admission, 32, 100);
    // Act
    const batch = () => admission.admit(32);
    // Assess
    expect(batch).not.toThrow();
  });

  it("aborts an admission's signal with a 503 once the budget runs out, and counts it as shed only when an image is dropped", () => {
    // Prepare
    const { admission, shed } = control(1000);
    const admitted = classifying(admission, 2);
    // Act
    const [abortedEarly, abortedAtTime] = beforeAndAt(1000, () => admitted.signal.aborted);
    // Assess
    expect(abortedEarly).toBe(false);
    expect(abortedAtTime).toBe(true);
    expect(admitted.signal.reason).toMatchObject({ status: 503, code: "OVERLOADED", message: expect.stringMatching(/waited out its 1000 ms budget/) });
    expect(shed).toEqual([]);
    admitted.imageDone(true);
    admitted.imageDone(true);
    expect(shed).toEqual([SHED_REASONS.expired]);
    expect(admission.admitted).toBe(0);
  });

  it("takes the rest of a batch's places once its form is read, refusing them whole past the budget", () => {
    // Prepare: 20 ms an image, a 1 s budget, 30 images in flight and a batch admitted from its headers with one place
    const { admission } = control(1000);
    answerAtPace(admission, 32, 20);
    for (let i = 0; i < 30; i++) admission.admit(1);
    const fits = admission.admit(1);
    const tooLarge = admission.admit(1);
    // Act
    fits.holdFor(10);
    const refused = (() => {
      try {
        tooLarge.holdFor(20);
      } catch (error) {
        return error;
      }
    })();
    tooLarge.release();
    // Assess: 30 + 10 + 1 in flight; the 19 more of the second batch would have made 60 (1.2 s)
    expect(refused).toMatchObject({ status: 503, code: "OVERLOADED" });
    expect(admission.admitted).toBe(40);
  });

  it("gives back the places of a request admitted from its headers whose body never came, once its budget runs out", () => {
    // Prepare
    const { admission, shed } = control(1000);
    const admitted = admission.admit(1);
    // Act
    vi.advanceTimersByTime(1000);
    const late = () => admitted.holdFor(1);
    // Assess
    expect(admission.admitted).toBe(0);
    expect(late).toThrow(/waited out its 1000 ms budget/);
    expect(shed).toEqual([SHED_REASONS.expired]);
  });

  it("holds requests that find no room, admits the newest first as room frees, and refuses the others once their wait runs out", async () => {
    // Prepare: room for two images, both taken; no time per image measured yet, so a request waits half the budget
    const { admission, shed } = control(1000, 2);
    const first = classifying(admission, 1);
    classifying(admission, 1);
    const older = admission.admitWhenRoom(1).catch((error: unknown) => error);
    const newer = admission.admitWhenRoom(1);
    // Act
    first.imageDone(false);
    const admittedNewer = await newer;
    const [olderStillWaiting] = beforeAndAt(500, () => admission.waitingRequests);
    // Assess
    expect(admittedNewer.signal.aborted).toBe(false);
    expect(olderStillWaiting).toBe(1);
    expect(await older).toMatchObject({ status: 503, code: "OVERLOADED", message: expect.stringMatching(/at its limit of 2 images in progress/) });
    expect(admission.admitted).toBe(2);
    expect(admission.waitingRequests).toBe(0);
    expect(shed).toEqual([SHED_REASONS.queueFull]);
  });

  it("lets a request wait for room until what is left of its budget could not answer it from an empty queue", async () => {
    // Prepare: 20 ms an image, a 1 s budget, 16 images' worth to finish: a one-image request can wait 1000 - 17 x 20 = 660 ms
    const { admission } = control(1000, 34, () => true, 16);
    answerAtPace(admission, 32, 20);
    for (let i = 0; i < 34; i++) classifying(admission, 1);
    const waiting = admission.admitWhenRoom(1).catch((error: unknown) => error);
    // Act
    const [stillWaiting] = beforeAndAt(660, () => admission.waitingRequests);
    // Assess
    expect(stillWaiting).toBe(1);
    expect(await waiting).toMatchObject({ status: 503, code: "OVERLOADED" });
    expect(admission.waitingRequests).toBe(0);
  });
});
