/**
 * The fuzz worker's entry point (started by WorkerHost, never imported): runs the project code on each input it
 * is sent and classifies the outcome, and checks known-good inputs for state the fuzzed ones left broken.
 */
import { parentPort, workerData } from "node:worker_threads";
import { describeError } from "./protocol.js";
import type { ErrorInfo, RunReply, Target, WorkerData, WorkerReply, WorkerRequest } from "./protocol.js";

/** Lets callbacks queued by the call (stream errors after close, late rejections) run before the verdict. */
async function settleTicks(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setTimeout(resolve, 0));
}

async function workerMain(): Promise<void> {
  const port = parentPort!;
  const data = workerData as WorkerData;
  const started = performance.now();
  // Loaded here rather than at the top, so the ready time reported to the main thread includes loading them.
  const { parseImageUpload } = await import("../../lambda/core/http/multipart.js");
  const { preprocessImage } = await import("../../lambda/core/model/preprocess.js");
  const { ApiError } = await import("../../lambda/core/errors.js");
  const { IMAGE_LIMITS } = await import("../../lambda/core/limits.js");
  const spec = data.spec;

  let current: { id: number; escapes: ErrorInfo[] } | undefined;
  let lastId = -1;
  const onEscape = (origin: string) => (error: unknown) => {
    const info = describeError(error, origin);
    if (current) current.escapes.push(info);
    else port.postMessage({ type: "escape", afterId: lastId, error: info } satisfies WorkerReply);
  };
  process.on("uncaughtException", onEscape("uncaughtException"));
  process.on("unhandledRejection", onEscape("unhandledRejection"));

  const asBuffer = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

  /** Checks a resolved result; undefined when it is sane, else what is wrong with it. */
  async function run(target: Target, bytes: Uint8Array, contentType: string | null): Promise<string | undefined> {
    if (target === "multipart") {
      const upload = await parseImageUpload(asBuffer(bytes), contentType ?? undefined);
      if (!(upload.bytes instanceof Buffer) || upload.bytes.length === 0) return "resolved with an empty or non-Buffer file";
      if (upload.bytes.length > IMAGE_LIMITS.maxFileBytes) return `resolved with a ${upload.bytes.length}-byte file, over maxFileBytes`;
      if (upload.bytes.length > bytes.length) return "resolved with a file larger than the whole body";
      return undefined;
    }
    const { header, tensor } = await preprocessImage(bytes, spec);
    if (tensor.length !== spec.width * spec.height) return `tensor has ${tensor.length} values, expected ${spec.width * spec.height}`;
    for (let i = 0; i < tensor.length; i++) if (!Number.isFinite(tensor[i])) return `tensor value ${i} is ${tensor[i]}`;
    if (header.width > IMAGE_LIMITS.maxSide || header.height > IMAGE_LIMITS.maxSide) return `header ${header.width}x${header.height} over maxSide`;
    if (header.width * header.height > IMAGE_LIMITS.maxPixels) return `header ${header.width}x${header.height} over maxPixels`;
    return undefined;
  }

  async function execute(target: Target, bytes: Uint8Array, contentType: string | null): Promise<Omit<RunReply, "type" | "id" | "escapes">> {
    const t0 = performance.now();
    try {
      const broken = await run(target, bytes, contentType);
      const ms = performance.now() - t0;
      return broken ? { ms, verdict: "crash", reason: "invariant", error: { origin: "invariant", name: "InvariantViolation", message: broken } } : { ms, verdict: "resolved" };
    } catch (error) {
      const ms = performance.now() - t0;
      if (error instanceof ApiError) {
        if (error.status >= 400 && error.status <= 499) return { ms, verdict: "refused", status: error.status, code: error.code, error: describeError(error, "rejection") };
        return { ms, verdict: "crash", reason: `status-${error.status}`, status: error.status, code: error.code, error: describeError(error, "rejection") };
      }
      return { ms, verdict: "crash", reason: "exception", error: describeError(error, "rejection") };
    }
  }

  // Reference answers for the canary: a known-good image and form, checked now and then for drift in shared state.
  const reference = await preprocessImage(data.canaryImage, spec);
  const quickReferences = await Promise.all(data.quickCanaries.map((bytes) => preprocessImage(bytes, spec)));
  /** Whether the decoders still give the reference answers; undefined when they do. */
  async function quickCheck(): Promise<string | undefined> {
    for (let k = 0; k < data.quickCanaries.length; k++) {
      try {
        const again = await preprocessImage(data.quickCanaries[k]!, spec);
        if (again.tensor.some((v, i) => v !== quickReferences[k]!.tensor[i])) return `known-good image ${k} now gives a different tensor`;
      } catch (error) {
        const info = describeError(error, "canary");
        return `known-good image ${k} now fails: ${info.message} (cause: ${info.cause})`;
      }
    }
    return undefined;
  }
  const referenceForm = await parseImageUpload(asBuffer(data.canaryForm.body), data.canaryForm.contentType);

  port.on("message", (request: WorkerRequest) => {
    void (async () => {
      if (request.type === "canary") {
        const problems: string[] = [];
        try {
          const again = await preprocessImage(data.canaryImage, spec);
          if (again.tensor.length !== reference.tensor.length || again.tensor.some((v, i) => v !== reference.tensor[i])) problems.push("image tensor differs from the reference");
        } catch (error) {
          problems.push(`image canary threw ${describeError(error, "canary").message} (cause: ${describeError(error, "canary").cause})`);
        }
        try {
          const form = await parseImageUpload(asBuffer(data.canaryForm.body), data.canaryForm.contentType);
          if (!form.bytes.equals(referenceForm.bytes)) problems.push("form file differs from the reference");
        } catch (error) {
          problems.push(`form canary threw ${describeError(error, "canary").message} (cause: ${describeError(error, "canary").cause})`);
        }
        port.postMessage({ type: "canary", id: request.id, ok: problems.length === 0, detail: problems.join("; ") } satisfies WorkerReply);
        return;
      }
      current = { id: request.id, escapes: [] };
      const outcome = await execute(request.target, request.bytes, request.contentType);
      await settleTicks();
      const broken = request.target !== "multipart" ? await quickCheck() : undefined;
      if (broken) Object.assign(outcome, { verdict: "crash", reason: "state", detail: broken });
      const escapes = current.escapes;
      current = undefined;
      lastId = request.id;
      const reply: RunReply = { type: "result", id: request.id, escapes, ...outcome };
      if (escapes.length > 0 && outcome.verdict !== "crash") Object.assign(reply, { verdict: "crash", reason: escapes[0]!.origin, error: escapes[0] });
      port.postMessage(reply);
    })();
  });
  port.postMessage({ type: "ready", ms: performance.now() - started } satisfies WorkerReply);
}

await workerMain();
