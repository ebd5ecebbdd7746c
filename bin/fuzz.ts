/**
 * Mutation fuzzer for the two parsers that read what clients send: the multipart form parser
 * (`parseImageUpload`) and the image entry point (`preprocessImage`: header checks, JPEG/PNG decoding,
 * downscale, tensor), driven in-process with mutated seeds.
 *
 *   npm run fuzz -- [--seconds 60] [--seed N] [--target multipart|image|both] [--iterations N]
 *                   [--timeout-ms 2000] [--slow-ms 500] [--max-old-mb 512] [--max-rss-mb 1536] [--out fuzz-findings]
 *   npm run fuzz -- --replay fuzz-findings/<finding>.json      (runs one saved input again, in a fresh worker)
 *
 * Seeds: forms built with imageForm from the X-ray fixtures, the raw fixture JPEGs, small JPEGs made from a
 * fixture with sharp, small PNGs made with pngjs, and hand-written forms no browser would send. Mutations:
 * bit flips, byte insert/delete, chunk duplication, truncation, splicing two seeds, "interesting" values
 * (0x00, 0xFF, 0x7F, 0x80, boundaries, big 16/32-bit lengths) written over JPEG segment lengths, SOF fields,
 * PNG chunk lengths and IHDR fields, and boundary / part-header / Content-Type tampering for forms.
 *
 * Every input runs in a worker thread (resourceLimits caps its V8 heap) under a time cap: a hang is ended
 * by terminating the worker, never waited out. The process RSS is sampled while each input runs, since
 * decoded pixels live in Buffers and WebAssembly memory outside the V8 heap. An outcome is fine when the
 * call resolves with a sane result or rejects with a ClassifierError of status 400-499; anything else
 * (another error, a 5xx, an uncaught exception or unhandled rejection, a timeout, a worker crash or OOM,
 * RSS over the cap, a resolved result that breaks an invariant) is a crash: the input is saved under
 * --out with a JSON description and re-run in a fresh worker to see whether it reproduces.
 * After every image input the worker also decodes small known-good images and compares their tensors with
 * the ones it got at start: an input that leaves the shared decoder broken for later requests is a "state"
 * crash, re-run up to --state-repeats times in a fresh worker to see how often it must be sent to do that.
 * A finding that does not reproduce alone is replayed after the inputs its worker ran before it; when it then
 * reproduces, those are saved in order under <finding>-history/, and --replay runs them first.
 * Inputs are kept to what can reach the code: forms up to FORM_LIMITS.maxBodyBytes, Content-Type up to 8 KiB.
 * The sequence of inputs depends only on --seed; --iterations makes a run exactly repeatable.
 * Exit code 1 when a crash was found.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { join, dirname, basename } from "node:path";
import { inspect, parseArgs } from "node:util";
import { deflateSync } from "node:zlib";
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";
import type { PreprocessingSpec } from "../lambda/core/preprocessing-spec.js";
import { FORM_LIMITS, IMAGE_LIMITS } from "../lambda/core/limits.js";
import { codeVersion, quantile } from "./run-report.js";

type Target = "multipart" | "image";

/** One fuzz input, as generated on the main thread. */
interface FuzzInput {
  iteration: number;
  target: Target;
  bytes: Uint8Array;
  /** The Content-Type header sent with a form (multipart target only); null stands for a missing header. */
  contentType: string | null;
  seed: string;
  mutations: string[];
}

interface ErrorInfo {
  origin: string;
  name: string;
  message: string;
  /** The message of error.cause, e.g. what the decoder said under a 422. */
  cause?: string;
  code?: string | number;
  status?: number;
  stack?: string;
}

/** What the worker reports for one input. */
interface RunReply {
  type: "result";
  id: number;
  ms: number;
  verdict: "resolved" | "refused" | "crash";
  status?: number;
  code?: string;
  reason?: string;
  /** The error the call ended with (for a refusal too, so a state finding shows what the input itself did). */
  error?: ErrorInfo;
  /** For a state finding: how the decoder misbehaves on a known-good image after this input. */
  detail?: string;
  escapes: ErrorInfo[];
}

type WorkerReply =
  | { type: "ready"; ms: number }
  | RunReply
  | { type: "canary"; id: number; ok: boolean; detail: string }
  | { type: "escape"; afterId: number; error: ErrorInfo };

type WorkerRequest =
  | { type: "run"; id: number; target: Target; bytes: Uint8Array; contentType: string | null }
  | { type: "canary"; id: number };

interface WorkerData {
  spec: PreprocessingSpec;
  /** Small known-good JPEG and PNG decoded after every image input: a decoder left broken by an input shows at once. */
  quickCanaries: Uint8Array[];
  canaryImage: Uint8Array;
  canaryForm: { body: Uint8Array; contentType: string };
}

// ------------------------------------------------------------------------------------------------
// Worker side: runs the project code on each input it is sent and classifies the outcome.
// ------------------------------------------------------------------------------------------------

/** An error's cause in one line; the MozJPEG decoder rejects with emscripten's ExitStatus, which is no Error. */
function describeCause(cause: unknown): string {
  if (typeof cause === "object" && cause !== null && "message" in cause) {
    const { name, message } = cause as { name?: unknown; message?: unknown };
    return `${String(name ?? "Object")}: ${String(message)}`.slice(0, 500);
  }
  return inspect(cause, { breakLength: Infinity, depth: 2 }).slice(0, 500);
}

function describeError(error: unknown, origin: string): ErrorInfo {
  if (error instanceof Error) {
    const withCode = error as Error & { code?: unknown; status?: unknown };
    return {
      origin,
      name: error.name,
      message: error.message.slice(0, 500),
      ...(error.cause !== undefined ? { cause: describeCause(error.cause) } : {}),
      ...(typeof withCode.code === "string" || typeof withCode.code === "number" ? { code: withCode.code } : {}),
      ...(typeof withCode.status === "number" ? { status: withCode.status } : {}),
      ...(error.stack ? { stack: error.stack.split("\n").slice(0, 16).join("\n") } : {}),
    };
  }
  return { origin, name: typeof error, message: String(error).slice(0, 500) };
}

/** Lets callbacks queued by the call (stream errors after close, late rejections) run before the verdict. */
async function settleTicks(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setTimeout(resolve, 0));
}

async function workerMain(): Promise<void> {
  const port = parentPort!;
  const data = workerData as WorkerData;
  const started = performance.now();
  const { parseImageUpload } = await import("../lambda/core/multipart.js");
  const { preprocessImage } = await import("../lambda/core/preprocess.js");
  const { ClassifierError } = await import("../lambda/core/errors.js");
  const { IMAGE_LIMITS } = await import("../lambda/core/limits.js");
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
      if (error instanceof ClassifierError) {
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
      const broken = request.target === "image" ? await quickCheck() : undefined;
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

// ------------------------------------------------------------------------------------------------
// Main side: seeds, mutations, the worker host, findings and the summary.
// ------------------------------------------------------------------------------------------------

/** sfc32: a small, fast, seedable PRNG, so a --seed gives the same inputs on every machine. */
class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  constructor(seed: number) {
    this.a = 0x9e3779b9;
    this.b = 0x243f6a88;
    this.c = 0xb7e15162;
    this.d = seed >>> 0;
    for (let i = 0; i < 16; i++) this.next();
  }
  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return (t >>> 0) / 4294967296;
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** Integer in [low, high]. */
  between(low: number, high: number): number {
    return low + this.int(high - low + 1);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }
}

const INTERESTING_8 = [0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff, 0x10, 0x40, 0x20, 0x0d, 0x0a, 0x2d, 0x22];
const INTERESTING_16 = [0x0000, 0x0001, 0x0002, 0x0003, 0x003f, 0x0040, 0x0041, 0x00ff, 0x0100, 0x0fff, 0x2ee0, 0x2ee1, 0x7fff, 0x8000, 0xfffe, 0xffff];
const INTERESTING_32 = [0x00000000, 0x00000001, 0x0000003f, 0x00000040, 0x00002ee0, 0x00002ee1, 0x00004e20, 0x0000ffff, 0x00010000, 0x00ffffff, 0x10000000, 0x7ffffffe, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];
/** Declared dimensions at and around IMAGE_LIMITS: the smallest side, the largest side, the pixel budget, the aspect ratio. */
const INTERESTING_DIMENSIONS: readonly [number, number][] = (() => {
  const { minSide, maxSide, maxPixels, maxAspectRatio } = IMAGE_LIMITS;
  const square = Math.floor(Math.sqrt(maxPixels));
  const widest = Math.min(maxSide, Math.floor(Math.sqrt(maxPixels * maxAspectRatio)));
  return [
    [0, 0], [1, 1], [minSide - 1, minSide - 1], [minSide, minSide], [minSide, minSide * maxAspectRatio], [minSide, minSide * maxAspectRatio + 1],
    [maxSide, Math.floor(maxPixels / maxSide)], [maxSide, Math.floor(maxPixels / maxSide) + 1], [square, square], [square + 1, square + 1],
    [widest, Math.ceil(widest / maxAspectRatio)], [maxSide, maxSide], [maxSide + 1, Math.ceil((maxSide + 1) / maxAspectRatio)],
    [60000, 60000], [65535, 65535], [65535, 1], [4000, 1000], [3000, 3000],
  ];
})();

function concat(...parts: Uint8Array[]): Uint8Array {
  return Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength)));
}

function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** A mutation: changes a copy of the input (bytes and, for forms, the Content-Type) and names what it did. */
type Mutator = (input: { bytes: Uint8Array; contentType: string | null }, rng: Random, ctx: MutationContext) => string | undefined;

interface MutationContext {
  target: Target;
  /** Other seeds of the same target, for splicing. */
  seeds: readonly Seed[];
}

interface Seed {
  name: string;
  target: Target;
  bytes: Uint8Array;
  contentType: string | null;
  weight: number;
}

/** A position to change: forms are mostly changed where their structure is (start, end, part headers). */
function position(bytes: Uint8Array, rng: Random, ctx: MutationContext, extra = 0): number {
  const n = bytes.length + extra;
  if (n <= 0) return 0;
  if (ctx.target === "multipart" && rng.chance(0.75)) {
    const head = Math.min(n, 600);
    const tail = Math.min(n, 300);
    return rng.chance(0.6) ? rng.int(head) : n - 1 - rng.int(tail);
  }
  return rng.int(n);
}

const mutators: Record<string, Mutator> = {
  flip(input, rng, ctx) {
    if (input.bytes.length === 0) return undefined;
    const b = Uint8Array.from(input.bytes);
    const count = rng.between(1, 8);
    for (let k = 0; k < count; k++) b[position(b, rng, ctx)]! ^= 1 << rng.int(8);
    input.bytes = b;
    return `flip x${count}`;
  },
  insert(input, rng, ctx) {
    const at = position(input.bytes, rng, ctx, 1);
    const n = rng.between(1, 32);
    const fill = rng.chance(0.5) ? rng.bytes(n) : new Uint8Array(n).fill(rng.pick(INTERESTING_8));
    input.bytes = concat(input.bytes.subarray(0, at), fill, input.bytes.subarray(at));
    return `insert ${n}@${at}`;
  },
  delete(input, rng, ctx) {
    if (input.bytes.length < 2) return undefined;
    const at = position(input.bytes, rng, ctx);
    const n = Math.min(input.bytes.length - at, rng.chance(0.8) ? rng.between(1, 16) : rng.between(17, 4096));
    input.bytes = concat(input.bytes.subarray(0, at), input.bytes.subarray(at + n));
    return `delete ${n}@${at}`;
  },
  duplicate(input, rng, ctx) {
    if (input.bytes.length < 2) return undefined;
    const from = position(input.bytes, rng, ctx);
    const n = Math.min(input.bytes.length - from, rng.between(1, rng.chance(0.7) ? 256 : 8192));
    const chunk = input.bytes.slice(from, from + n);
    const times = rng.chance(0.8) ? 1 : rng.between(2, 64);
    const at = position(input.bytes, rng, ctx, 1);
    input.bytes = concat(input.bytes.subarray(0, at), ...Array<Uint8Array>(times).fill(chunk), input.bytes.subarray(at));
    return `duplicate ${n}x${times} ${from}->${at}`;
  },
  truncate(input, rng) {
    if (input.bytes.length === 0) return undefined;
    const at = rng.chance(0.3) ? input.bytes.length - rng.between(1, Math.min(64, input.bytes.length)) : rng.int(input.bytes.length);
    input.bytes = input.bytes.slice(0, at);
    return `truncate@${at}`;
  },
  splice(input, rng, ctx) {
    const other = rng.pick(ctx.seeds).bytes;
    if (input.bytes.length === 0 || other.length === 0) return undefined;
    const cutA = rng.int(input.bytes.length);
    const cutB = rng.int(other.length);
    input.bytes = concat(input.bytes.subarray(0, cutA), other.subarray(cutB));
    return `splice ${cutA}|${cutB}`;
  },
  interesting(input, rng, ctx) {
    if (input.bytes.length < 4) return undefined;
    const b = Buffer.from(input.bytes);
    const count = rng.between(1, 4);
    for (let k = 0; k < count; k++) {
      const width = rng.pick([1, 2, 4]);
      const at = Math.min(position(b, rng, ctx), b.length - width);
      if (width === 1) b[at] = rng.pick(INTERESTING_8);
      else if (width === 2) b[rng.chance(0.5) ? "writeUInt16BE" : "writeUInt16LE"](rng.pick(INTERESTING_16), at);
      else b[rng.chance(0.5) ? "writeUInt32BE" : "writeUInt32LE"](rng.pick(INTERESTING_32), at);
    }
    input.bytes = b;
    return `interesting x${count}`;
  },
};

// --- JPEG structure --------------------------------------------------------------------------------

interface JpegSegment {
  marker: number;
  /** Offset of the 0xFF of the marker. */
  offset: number;
  length: number;
}

/** The marker segments of a JPEG up to and including the first SOS (after that comes entropy-coded data). */
function jpegSegments(b: Uint8Array): JpegSegment[] {
  const segments: JpegSegment[] = [];
  let i = 2;
  while (i + 4 <= b.length && segments.length < 64) {
    if (b[i] !== 0xff) break;
    const marker = b[i + 1]!;
    if (marker === 0xff) {
      i++;
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2;
      continue;
    }
    if (marker === 0xd9) break;
    const length = (b[i + 2]! << 8) | b[i + 3]!;
    segments.push({ marker, offset: i, length });
    if (marker === 0xda) break;
    i += 2 + length;
  }
  return segments;
}

const isSof = (marker: number) => marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
const hex = (n: number, width = 2) => `0x${n.toString(16).padStart(width, "0")}`;

const jpegMutators: Record<string, Mutator> = {
  "jpeg-length"(input, rng) {
    const segments = jpegSegments(input.bytes);
    if (segments.length === 0) return undefined;
    const segment = rng.pick(segments);
    const b = Buffer.from(input.bytes);
    const value = rng.chance(0.7) ? rng.pick(INTERESTING_16) : Math.max(0, Math.min(0xffff, segment.length + rng.between(-4, 4)));
    b.writeUInt16BE(value, segment.offset + 2);
    input.bytes = b;
    return `jpeg-length ${hex(segment.marker)}@${segment.offset}=${hex(value, 4)}`;
  },
  "jpeg-sof"(input, rng) {
    const sof = jpegSegments(input.bytes).find((s) => isSof(s.marker));
    if (!sof || sof.offset + 10 > input.bytes.length) return undefined;
    const b = Buffer.from(input.bytes);
    const field = rng.int(5);
    if (field === 0) {
      const [w, h] = rng.pick(INTERESTING_DIMENSIONS);
      const [width, height] = rng.chance(0.5) ? [w, h] : [h, w];
      b.writeUInt16BE(height, sof.offset + 5);
      b.writeUInt16BE(width, sof.offset + 7);
      input.bytes = b;
      return `jpeg-sof dims ${width}x${height}`;
    }
    if (field === 1) {
      const precision = rng.pick([0, 1, 8, 12, 16, 255]);
      b[sof.offset + 4] = precision;
      input.bytes = b;
      return `jpeg-sof precision=${precision}`;
    }
    if (field === 2) {
      const components = rng.pick([0, 1, 2, 3, 4, 5, 255]);
      b[sof.offset + 9] = components;
      input.bytes = b;
      return `jpeg-sof components=${components}`;
    }
    if (field === 3) {
      const marker = rng.pick([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xcf]);
      b[sof.offset + 1] = marker;
      input.bytes = b;
      return `jpeg-sof marker=${hex(marker)}`;
    }
    const at = sof.offset + 10 + rng.int(Math.max(1, sof.length - 8));
    if (at >= b.length) return undefined;
    const value = rng.pick([0x00, 0x11, 0x12, 0x21, 0x22, 0x44, 0x41, 0x14, 0x0f, 0xf0, 0xff, 0x03, 0x04]);
    b[at] = value;
    input.bytes = b;
    return `jpeg-sof component byte@${at}=${hex(value)}`;
  },
  "jpeg-marker"(input, rng) {
    const segments = jpegSegments(input.bytes);
    const b = Buffer.from(input.bytes);
    const choice = rng.int(5);
    if (choice === 0 && segments.length > 0) {
      const segment = rng.pick(segments);
      const marker = rng.int(256);
      b[segment.offset + 1] = marker;
      input.bytes = b;
      return `jpeg-marker ${hex(segment.marker)}->${hex(marker)}`;
    }
    if (choice === 1 && segments.length > 0) {
      // A table segment (DQT/DHT) with its counts or values set to extremes.
      const tables = segments.filter((s) => s.marker === 0xdb || s.marker === 0xc4 || s.marker === 0xdd || s.marker === 0xda);
      const segment = tables.length > 0 ? rng.pick(tables) : rng.pick(segments);
      const span = Math.max(1, Math.min(segment.length - 2, 40));
      const count = rng.between(1, 6);
      for (let k = 0; k < count; k++) {
        const at = segment.offset + 4 + rng.int(span);
        if (at < b.length) b[at] = rng.pick(INTERESTING_8);
      }
      input.bytes = b;
      return `jpeg-table ${hex(segment.marker)} x${count}`;
    }
    // Insert a whole extra segment before a random segment (or after SOI).
    const at = segments.length > 0 && rng.chance(0.8) ? rng.pick(segments).offset : 2;
    const extras: [string, Uint8Array][] = [
      ["DRI", Uint8Array.from([0xff, 0xdd, 0x00, 0x04, rng.int(256), rng.int(256)])],
      ["EOI", Uint8Array.from([0xff, 0xd9])],
      ["SOI", Uint8Array.from([0xff, 0xd8])],
      ["fill", new Uint8Array(rng.between(1, 64)).fill(0xff)],
      ["COM", concat(Uint8Array.from([0xff, 0xfe, 0x00, 0x12]), new TextEncoder().encode("fuzz-comment-16b"))],
      ["APP1-Exif-orientation", exifOrientationSegment(rng.pick([0, 1, 3, 5, 6, 8, 9, 255, 65535]))],
      ["APP2-big", concat(Uint8Array.from([0xff, 0xe2, 0xff, 0xff]), rng.bytes(0xfffd))],
      ["SOF-dup", sofSegment(rng.pick(INTERESTING_DIMENSIONS))],
      ["RST", Uint8Array.from([0xff, 0xd0 + rng.int(8)])],
    ];
    const [name, bytes] = rng.pick(extras);
    input.bytes = concat(b.subarray(0, at), bytes, b.subarray(at));
    return `jpeg-insert ${name}@${at}`;
  },
  "jpeg-scan"(input, rng) {
    // Corrupts entropy-coded data after SOS (markers and stuffing inside the scan).
    const sos = jpegSegments(input.bytes).find((s) => s.marker === 0xda);
    if (!sos) return undefined;
    const start = sos.offset + 2 + sos.length;
    if (start >= input.bytes.length - 2) return undefined;
    const b = Buffer.from(input.bytes);
    const count = rng.between(1, 8);
    for (let k = 0; k < count; k++) {
      const at = start + rng.int(b.length - 2 - start);
      const what = rng.int(3);
      if (what === 0) b[at] = 0xff;
      else if (what === 1 && at + 1 < b.length) {
        b[at] = 0xff;
        b[at + 1] = rng.pick([0xd0, 0xd3, 0xd7, 0xd9, 0xda, 0xc4, 0xdb, 0xdd, 0x01, 0xfe]);
      } else b[at] = rng.int(256);
    }
    input.bytes = b;
    return `jpeg-scan x${count}`;
  },
};

/** An APP1 Exif segment carrying only an orientation tag, as cameras write it. */
function exifOrientationSegment(orientation: number): Uint8Array {
  const tiff = Buffer.alloc(26);
  tiff.write("MM\x00\x2a", 0, "latin1");
  tiff.writeUInt32BE(8, 4);
  tiff.writeUInt16BE(1, 8);
  tiff.writeUInt16BE(0x0112, 10);
  tiff.writeUInt16BE(3, 12);
  tiff.writeUInt32BE(1, 14);
  tiff.writeUInt16BE(orientation, 18);
  tiff.writeUInt32BE(0, 22);
  const body = concat(Buffer.from("Exif\x00\x00", "latin1"), tiff);
  const head = Buffer.alloc(4);
  head.writeUInt16BE(0xffe1, 0);
  head.writeUInt16BE(body.length + 2, 2);
  return concat(head, body);
}

function sofSegment([width, height]: readonly [number, number]): Uint8Array {
  const b = Buffer.alloc(13);
  b.writeUInt16BE(0xffc0, 0);
  b.writeUInt16BE(11, 2);
  b[4] = 8;
  b.writeUInt16BE(height, 5);
  b.writeUInt16BE(width, 7);
  b[9] = 1;
  b[10] = 1;
  b[11] = 0x11;
  b[12] = 0;
  return b;
}

// --- PNG structure ---------------------------------------------------------------------------------

interface PngChunk {
  offset: number;
  length: number;
  type: string;
}

function pngChunks(b: Uint8Array): PngChunk[] {
  const chunks: PngChunk[] = [];
  if (b[1] !== 0x50 || b[2] !== 0x4e || b[3] !== 0x47) return chunks;
  const view = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  let i = 8;
  while (i + 12 <= b.length && chunks.length < 256) {
    const length = view.readUInt32BE(i);
    chunks.push({ offset: i, length, type: view.toString("latin1", i + 4, i + 8) });
    if (length > b.length) break;
    i += 12 + length;
  }
  return chunks;
}

/** Recomputes a chunk's CRC, so a change reaches the decoder instead of stopping at the checksum. */
function fixCrc(b: Buffer, chunk: PngChunk): void {
  const end = chunk.offset + 8 + chunk.length;
  if (end + 4 > b.length) return;
  b.writeUInt32BE(crc32(b.subarray(chunk.offset + 4, end)), end);
}

function pngChunk(type: string, data: Uint8Array): Uint8Array {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, "latin1");
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(concat(head.subarray(4), data)), 0);
  return concat(head, data, crc);
}

const pngMutators: Record<string, Mutator> = {
  "png-length"(input, rng) {
    const chunks = pngChunks(input.bytes);
    if (chunks.length === 0) return undefined;
    const chunk = rng.pick(chunks);
    const b = Buffer.from(input.bytes);
    const value = rng.chance(0.7) ? rng.pick(INTERESTING_32) : Math.max(0, chunk.length + rng.between(-4, 4));
    b.writeUInt32BE(value >>> 0, chunk.offset);
    input.bytes = b;
    return `png-length ${chunk.type}@${chunk.offset}=${hex(value >>> 0, 8)}`;
  },
  "png-ihdr"(input, rng) {
    const ihdr = pngChunks(input.bytes).find((c) => c.type === "IHDR");
    if (!ihdr || ihdr.offset + 25 > input.bytes.length) return undefined;
    const b = Buffer.from(input.bytes);
    const data = ihdr.offset + 8;
    let what: string;
    const field = rng.int(4);
    if (field === 0) {
      const [w, h] = rng.chance(0.7) ? rng.pick(INTERESTING_DIMENSIONS) : [rng.pick(INTERESTING_32), rng.pick(INTERESTING_32)];
      b.writeUInt32BE(w >>> 0, data);
      b.writeUInt32BE(h >>> 0, data + 4);
      what = `dims ${w >>> 0}x${h >>> 0}`;
    } else if (field === 1) {
      const depth = rng.pick([0, 1, 2, 4, 8, 16, 3, 32, 255]);
      b[data + 8] = depth;
      what = `depth=${depth}`;
    } else if (field === 2) {
      const colour = rng.pick([0, 1, 2, 3, 4, 5, 6, 7, 255]);
      b[data + 9] = colour;
      what = `colour=${colour}`;
    } else {
      const at = rng.pick([10, 11, 12]);
      const value = rng.pick([0, 1, 2, 255]);
      b[data + at] = value;
      what = `${["compression", "filter", "interlace"][at - 10]}=${value}`;
    }
    const fixed = rng.chance(0.8);
    if (fixed) fixCrc(b, ihdr);
    input.bytes = b;
    return `png-ihdr ${what}${fixed ? "" : " (bad crc)"}`;
  },
  "png-chunks"(input, rng) {
    const chunks = pngChunks(input.bytes);
    if (chunks.length === 0) return undefined;
    const b = Buffer.from(input.bytes);
    const choice = rng.int(5);
    const chunk = rng.pick(chunks);
    const whole = b.subarray(chunk.offset, Math.min(b.length, chunk.offset + 12 + chunk.length));
    if (choice === 0) {
      const times = rng.between(1, 32);
      input.bytes = concat(b.subarray(0, chunk.offset), ...Array<Uint8Array>(times + 1).fill(whole), b.subarray(chunk.offset + whole.length));
      return `png-dup ${chunk.type} x${times}`;
    }
    if (choice === 1) {
      input.bytes = concat(b.subarray(0, chunk.offset), b.subarray(chunk.offset + whole.length));
      return `png-drop ${chunk.type}`;
    }
    if (choice === 2) {
      // An IDAT holding a deflate stream that inflates to far more than the image needs (a zlib bomb).
      const bomb = deflateSync(Buffer.alloc(rng.pick([1, 16, 64]) * 2 ** 20));
      const idat = chunks.find((c) => c.type === "IDAT") ?? chunk;
      input.bytes = concat(b.subarray(0, idat.offset), pngChunk("IDAT", bomb), b.subarray(idat.offset + 12 + idat.length));
      return `png-zlib-bomb ${bomb.length}B`;
    }
    if (choice === 3) {
      const extra = rng.pick<[string, Uint8Array]>([
        ["PLTE", rng.bytes(rng.pick([0, 3, 768, 771]))],
        ["tRNS", rng.bytes(rng.between(0, 300))],
        ["IEND", new Uint8Array(0)],
        ["gAMA", Uint8Array.from([0, 0, 0, 0])],
        ["iCCP", concat(new TextEncoder().encode("icc\0\0"), deflateSync(rng.bytes(100)))],
        ["zTXt", concat(new TextEncoder().encode("k\0\0"), deflateSync(Buffer.alloc(4 * 2 ** 20)))],
        ["pHYs", rng.bytes(9)],
        ["IHDR", rng.bytes(13)],
        ["eXIf", exifOrientationSegment(6).subarray(10)],
        ["acTL", rng.bytes(8)],
      ]);
      const at = rng.pick(chunks).offset;
      input.bytes = concat(b.subarray(0, at), pngChunk(extra[0], extra[1]), b.subarray(at));
      return `png-insert ${extra[0]}(${extra[1].length}B)@${at}`;
    }
    // Change bytes inside a chunk's data and fix its CRC, so the decoder sees the change.
    const count = rng.between(1, 6);
    for (let k = 0; k < count && chunk.length > 0; k++) {
      const at = chunk.offset + 8 + rng.int(chunk.length);
      if (at < b.length) b[at] = rng.chance(0.5) ? rng.pick(INTERESTING_8) : rng.int(256);
    }
    fixCrc(b, chunk);
    input.bytes = b;
    return `png-data ${chunk.type} x${count}`;
  },
};

// --- multipart structure ----------------------------------------------------------------------------

function boundaryOf(contentType: string | null): string | undefined {
  const match = /boundary=(?:"([^"]*)"|([^;\s]*))/i.exec(contentType ?? "");
  return match ? (match[1] ?? match[2]) : undefined;
}

/** Offsets of each "--boundary" delimiter in a form body. */
function delimiters(body: Uint8Array, boundary: string): number[] {
  const view = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const needle = Buffer.from(`--${boundary}`, "latin1");
  const found: number[] = [];
  for (let at = view.indexOf(needle); at !== -1 && found.length < 4096; at = view.indexOf(needle, at + needle.length)) found.push(at);
  return found;
}

const latin1 = (text: string) => Buffer.from(text, "latin1");

const formMutators: Record<string, Mutator> = {
  "content-type"(input, rng) {
    const boundary = boundaryOf(input.contentType) ?? "b";
    const variants: [string, string | null][] = [
      ["missing", null],
      ["no-boundary", "multipart/form-data"],
      ["empty-boundary", "multipart/form-data; boundary="],
      ["quoted", `multipart/form-data; boundary="${boundary}"`],
      ["other-boundary", `multipart/form-data; boundary=${boundary.slice(0, -1)}X`],
      ["prefix-boundary", `multipart/form-data; boundary=${boundary.slice(0, Math.max(1, boundary.length >> 1))}`],
      ["upper-media", `MULTIPART/FORM-DATA; BOUNDARY=${boundary}`],
      ["long-boundary", `multipart/form-data; boundary=${"x".repeat(rng.pick([70, 71, 200, 5000, 70000]))}`],
      ["dup-boundary", `multipart/form-data; boundary=zzz; boundary=${boundary}`],
      ["charset", `multipart/form-data; charset=utf-16; boundary=${boundary}`],
      ["mixed", `multipart/mixed; boundary=${boundary}`],
      ["trailing-semicolon", `multipart/form-data; boundary=${boundary};`],
      ["spaces", `multipart/form-data ;  boundary = ${boundary}`],
      ["unterminated-quote", `multipart/form-data; boundary="${boundary}`],
      ["junk-params", `multipart/form-data; ${"a=b; ".repeat(rng.between(1, 2000))}boundary=${boundary}`],
      ["binary", `multipart/form-data; boundary=${Buffer.from(rng.bytes(rng.between(1, 40))).toString("latin1")}`],
      ["json", "application/json"],
      ["whitespace-boundary", "multipart/form-data; boundary= "],
    ];
    const [name, value] = rng.pick(variants);
    input.contentType = value;
    return `content-type ${name}`;
  },
  "form-boundary"(input, rng) {
    const boundary = boundaryOf(input.contentType);
    if (!boundary) return undefined;
    const at = delimiters(input.bytes, boundary);
    const b = Buffer.from(input.bytes);
    const choice = rng.int(7);
    if (choice === 0 && at.length > 0) {
      // Drop the closing "--" (or the whole closing delimiter).
      const last = at[at.length - 1]!;
      const cut = rng.chance(0.5) ? last + 2 + boundary.length : last;
      input.bytes = b.subarray(0, cut);
      return `form-boundary drop-close@${cut}`;
    }
    if (choice === 1) {
      const head = b.subarray(0, Math.min(b.length, 2048)).toString("latin1").replace(/\r\n/g, "\n");
      const tail = b.length > 4096 ? b.subarray(b.length - 512).toString("latin1").replace(/\r\n/g, "\n") : "";
      input.bytes = b.length > 4096 ? concat(latin1(head), b.subarray(2048, b.length - 512), latin1(tail)) : latin1(b.toString("latin1").replace(/\r\n/g, "\n"));
      return "form-boundary crlf->lf";
    }
    if (choice === 2) {
      const preamble = rng.chance(0.5) ? latin1("preamble text\r\n") : rng.bytes(rng.between(1, 4096));
      input.bytes = concat(preamble, b);
      return `form-boundary preamble ${preamble.length}B`;
    }
    if (choice === 3) {
      const epilogue = rng.chance(0.5) ? latin1(`\r\n--${boundary}\r\n`) : rng.bytes(rng.between(1, 4096));
      input.bytes = concat(b, epilogue);
      return `form-boundary epilogue ${epilogue.length}B`;
    }
    if (choice === 4 && at.length > 0) {
      const which = rng.pick(at);
      const offset = which + 2 + rng.int(boundary.length + 2);
      if (offset < b.length) b[offset] = rng.pick([0x2d, 0x0d, 0x0a, 0x20, 0x00, 0xff, b[offset]! ^ 0x20]);
      input.bytes = b;
      return `form-boundary corrupt-delimiter@${offset}`;
    }
    if (choice === 5 && at.length > 0) {
      // Transport padding or junk right after a delimiter.
      const which = rng.pick(at) + 2 + boundary.length;
      const pad = rng.pick(["   \t", "--", "\r\n\r\n", "x", " \r\n"]);
      input.bytes = concat(b.subarray(0, which), latin1(pad), b.subarray(which));
      return `form-boundary pad ${JSON.stringify(pad)}`;
    }
    // Many extra parts before the closing delimiter (text fields, empty parts or extra files).
    const count = rng.pick([2, 15, 16, 17, 31, 32, 33, 100, 2000]);
    const kind = rng.pick(["field", "empty", "file", "file-field"]);
    const part =
      kind === "field"
        ? `--${boundary}\r\nContent-Disposition: form-data; name="f"\r\n\r\nv\r\n`
        : kind === "empty"
          ? `--${boundary}\r\n\r\n\r\n`
          : kind === "file"
            ? `--${boundary}\r\nContent-Disposition: form-data; name="other"; filename="a.jpeg"\r\n\r\nxx\r\n`
            : `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="b.jpeg"\r\n\r\nyy\r\n`;
    const last = at.length > 0 ? at[at.length - 1]! : b.length;
    input.bytes = concat(b.subarray(0, last), latin1(part.repeat(count)), b.subarray(last));
    return `form-boundary parts +${count} ${kind}`;
  },
  "form-headers"(input, rng) {
    const boundary = boundaryOf(input.contentType);
    if (!boundary) return undefined;
    const at = delimiters(input.bytes, boundary);
    if (at.length === 0) return undefined;
    const b = Buffer.from(input.bytes);
    const start = rng.pick(at) + 2 + boundary.length;
    const headerEnd = b.indexOf("\r\n\r\n", start);
    if (headerEnd === -1 || headerEnd - start > 65536) return undefined;
    const variants: [string, string][] = [
      ["no-disposition", "\r\nContent-Type: image/jpeg"],
      ["no-name", '\r\nContent-Disposition: form-data; filename="x.jpeg"'],
      ["empty-filename", '\r\nContent-Disposition: form-data; name="file"; filename=""'],
      ["no-filename", '\r\nContent-Disposition: form-data; name="file"'],
      ["traversal", '\r\nContent-Disposition: form-data; name="file"; filename="../../../etc/passwd"'],
      ["filename-star", "\r\nContent-Disposition: form-data; name=\"file\"; filename*=UTF-8''%FF%FE%00x.jpeg"],
      ["bad-charset", "\r\nContent-Disposition: form-data; name=\"file\"; filename*=bogus''x.jpeg"],
      ["escaped-quotes", '\r\nContent-Disposition: form-data; name="fi\\"le"; filename="a\\\\b\\".jpeg"'],
      ["upper", '\r\nCONTENT-DISPOSITION: FORM-DATA; NAME="file"; FILENAME="X.JPEG"'],
      ["attachment", '\r\nContent-Disposition: attachment; name="file"; filename="x.jpeg"'],
      ["proto", '\r\nContent-Disposition: form-data; name="__proto__"; filename="x.jpeg"'],
      ["unterminated", '\r\nContent-Disposition: form-data; name="file; filename="x.jpeg'],
      ["no-colon", "\r\nContent-Disposition form-data name=file"],
      ["latin1-name", '\r\nContent-Disposition: form-data; name="fil\xe9"; filename="\xff\xfe.jpeg"'],
      ["transfer-encoding", '\r\nContent-Disposition: form-data; name="file"; filename="x.jpeg"\r\nContent-Transfer-Encoding: base64'],
      ["many-headers", `\r\nContent-Disposition: form-data; name="file"; filename="x.jpeg"${"\r\nX-A: b".repeat(rng.pick([31, 32, 33, 500]))}`],
      ["long-header", `\r\nContent-Disposition: form-data; name="file"; filename="${"a".repeat(rng.pick([200, 8000, 16384, 100000]))}.jpeg"`],
      ["long-name", `\r\nContent-Disposition: form-data; name="${"n".repeat(rng.pick([127, 128, 129, 5000]))}"; filename="x.jpeg"`],
      ["folded", '\r\nContent-Disposition: form-data;\r\n name="file"; filename="x.jpeg"'],
      ["nul", '\r\nContent-Disposition: form-data; name="file\0"; filename="x\0.jpeg"'],
      ["dup-disposition", '\r\nContent-Disposition: form-data; name="other"\r\nContent-Disposition: form-data; name="file"; filename="x.jpeg"'],
      ["text-type", '\r\nContent-Disposition: form-data; name="file"; filename="x.jpeg"\r\nContent-Type: text/plain; charset=utf-8'],
    ];
    const [name, headers] = rng.pick(variants);
    input.bytes = concat(b.subarray(0, start), latin1(headers), b.subarray(headerEnd));
    return `form-headers ${name}`;
  },
};

const IMAGE_MUTATORS: [string, Mutator, number][] = [
  ...Object.entries(mutators).map(([name, m]) => [name, m, name === "splice" ? 1 : 2] as [string, Mutator, number]),
  ...Object.entries(jpegMutators).map(([name, m]) => [name, m, 3] as [string, Mutator, number]),
  ...Object.entries(pngMutators).map(([name, m]) => [name, m, 3] as [string, Mutator, number]),
];
const FORM_MUTATORS: [string, Mutator, number][] = [
  ...Object.entries(mutators).map(([name, m]) => [name, m, 2] as [string, Mutator, number]),
  ...Object.entries(formMutators).map(([name, m]) => [name, m, name === "content-type" ? 1 : 4] as [string, Mutator, number]),
];

function pickWeighted<T>(rng: Random, items: readonly T[], weight: (item: T) => number): T {
  const total = items.reduce((sum, item) => sum + weight(item), 0);
  let roll = rng.next() * total;
  for (const item of items) {
    roll -= weight(item);
    if (roll < 0) return item;
  }
  return items[items.length - 1]!;
}

/** One input: a seed of the target, with 1 to 4 stacked mutations (retried when a mutation does not apply). */
function generate(rng: Random, iteration: number, target: Target, seeds: readonly Seed[]): FuzzInput {
  const pool = seeds.filter((s) => s.target === target);
  const seed = pickWeighted(rng, pool, (s) => s.weight);
  const input = { bytes: seed.bytes, contentType: seed.contentType };
  const ctx: MutationContext = { target, seeds: pool };
  const table = target === "image" ? IMAGE_MUTATORS : FORM_MUTATORS;
  const wanted = rng.chance(0.5) ? 1 : rng.between(2, 4);
  const applied: string[] = [];
  for (let attempt = 0; applied.length < wanted && attempt < wanted * 4; attempt++) {
    const [, mutate] = pickWeighted(rng, table, ([, , w]) => w);
    const description = mutate(input, rng, ctx);
    if (description) applied.push(description);
  }
  // Keep to what can reach the function: API Gateway and the front refuse bodies over FORM_LIMITS.maxBodyBytes
  // (the parser never sees them) and Node refuses headers over 16 KiB; busboy caps the file at maxFileBytes.
  const cap = target === "multipart" ? FORM_LIMITS.maxBodyBytes : IMAGE_LIMITS.maxFileBytes;
  if (input.bytes.length > cap) {
    input.bytes = input.bytes.slice(0, cap); // a copy: postMessage would clone the whole buffer under a view
    applied.push(`cap@${cap}`);
  }
  if (input.contentType !== null && input.contentType.length > MAX_CONTENT_TYPE) {
    input.contentType = input.contentType.slice(0, MAX_CONTENT_TYPE);
    applied.push(`cap-content-type@${MAX_CONTENT_TYPE}`);
  }
  return { iteration, target, bytes: input.bytes, contentType: input.contentType, seed: seed.name, mutations: applied };
}

/** Longest Content-Type a request can carry: Node's HTTP server refuses more than 16 KiB of headers in all. */
const MAX_CONTENT_TYPE = 8 * 1024;

// --- seeds ----------------------------------------------------------------------------------------

async function buildSeeds(): Promise<{ seeds: Seed[]; canaryImage: Uint8Array; canaryForm: { body: Uint8Array; contentType: string }; quickCanaries: Uint8Array[] }> {
  const { imageForm, encodeForm, xrayFixtures } = await import("../test/support/forms.js");
  const { PNG } = await import("pngjs");
  const { default: sharp } = await import("sharp");
  const seeds: Seed[] = [];
  const add = (name: string, target: Target, bytes: Uint8Array, contentType: string | null, weight = 1) =>
    seeds.push({ name, target, bytes, contentType, weight });

  const fixtures = await xrayFixtures();
  const xrays: { name: string; bytes: Buffer }[] = [];
  for (const fixture of fixtures) xrays.push({ name: `${fixture.label}/${fixture.name}`, bytes: await readFile(fixture.path) });

  // Images: the raw fixture JPEGs, small JPEGs derived from one (fast to decode, so most mutations land in
  // headers and tables), and small PNGs made with pngjs.
  for (const xray of xrays) add(`jpeg:${xray.name}`, "image", xray.bytes, null, 1);
  const source = sharp(xrays[0]!.bytes);
  const small: [string, Buffer][] = [
    ["small-grey-baseline", await source.clone().resize(96, 96).grayscale().jpeg({ quality: 75 }).toBuffer()],
    ["small-grey-progressive", await source.clone().resize(120, 80).grayscale().jpeg({ quality: 75, progressive: true }).toBuffer()],
    ["small-colour-420", await source.clone().resize(80, 100).tint("#ffcc99").jpeg({ quality: 70, chromaSubsampling: "4:2:0" }).toBuffer()],
    ["small-colour-444-progressive", await source.clone().resize(100, 72).tint("#99ccff").jpeg({ quality: 90, chromaSubsampling: "4:4:4", progressive: true }).toBuffer()],
    ["small-exif-orientation-6", await source.clone().resize(128, 96).grayscale().withMetadata({ orientation: 6 }).jpeg().toBuffer()],
    ["small-optimised-huffman", await source.clone().resize(96, 128).grayscale().jpeg({ quality: 50, optimiseCoding: true, trellisQuantisation: true }).toBuffer()],
  ];
  for (const [name, bytes] of small) add(`jpeg:${name}`, "image", bytes, null, 2);
  const png = (width: number, height: number, colorType: 0 | 2 | 4 | 6, bitDepth: 8 | 16, inputHasAlpha = true) => {
    const image = new PNG({ width, height });
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const i = (y * width + x) * 4;
        const v = (x * 255) / width;
        image.data[i] = v;
        image.data[i + 1] = colorType === 0 || colorType === 4 ? v : (y * 255) / height;
        image.data[i + 2] = colorType === 0 || colorType === 4 ? v : 128;
        image.data[i + 3] = 255 - ((x + y) % 7);
      }
    }
    return PNG.sync.write(image, { colorType, bitDepth, inputHasAlpha });
  };
  add("png:grey-96x80", "image", png(96, 80, 0, 8), null, 2);
  add("png:rgba-80x96", "image", png(80, 96, 6, 8), null, 2);
  add("png:grey-alpha-72x72", "image", png(72, 72, 4, 8), null, 1);
  add("png:rgb16-64x100", "image", png(64, 100, 2, 16), null, 1);

  // Forms: every fixture as curl -F would send it, small images in forms, and forms no browser sends.
  for (const xray of xrays) {
    const form = await imageForm(xray.bytes, basename(xray.name));
    add(`form:${xray.name}`, "multipart", form.body, form.contentType, 1);
  }
  const smallForm = await imageForm(small[0]![1], "small.jpeg");
  add("form:small-jpeg", "multipart", smallForm.body, smallForm.contentType, 3);
  const pngForm = await imageForm(png(96, 80, 0, 8), "small.png", "file", "image/png");
  add("form:small-png", "multipart", pngForm.body, pngForm.contentType, 2);
  const withFields = new FormData();
  withFields.append("note", "patient 1");
  withFields.append("file", new Blob([Uint8Array.from([0xff, 0xd8, 0xff, 0xd9])], { type: "image/jpeg" }), "tiny.jpeg");
  withFields.append("files", "not a file");
  const fieldsForm = await encodeForm(withFields);
  add("form:fields-and-file", "multipart", fieldsForm.body, fieldsForm.contentType, 3);
  const B = "----fuzz-boundary";
  const raw = (...parts: string[]) => latin1(parts.map((p) => `--${B}\r\n${p}\r\n`).join("") + `--${B}--\r\n`);
  const file = (name: string, content: string, filename = "x.jpeg") =>
    `Content-Disposition: form-data; name="${name}"; filename="${filename}"\r\nContent-Type: image/jpeg\r\n\r\n${content}`;
  const text = (name: string, value: string) => `Content-Disposition: form-data; name="${name}"\r\n\r\n${value}`;
  const ct = `multipart/form-data; boundary=${B}`;
  add("form:raw-one-file", "multipart", raw(file("file", "\xff\xd8\xff\xe0JFIF")), ct, 3);
  add("form:raw-two-files", "multipart", raw(file("file", "a"), file("file", "b")), ct, 2);
  add("form:raw-other-field", "multipart", raw(file("image", "a"), text("file", "x")), ct, 2);
  add("form:raw-empty-file", "multipart", raw(file("file", "")), ct, 1);
  add("form:raw-empty", "multipart", latin1(`--${B}--\r\n`), ct, 1);
  add("form:raw-many-fields", "multipart", raw(...Array.from({ length: 15 }, (_, i) => text(`f${i}`, "v")), file("file", "z")), ct, 2);
  add("form:raw-quoted-boundary", "multipart", raw(file("file", "q")), `multipart/form-data; boundary="${B}"`, 1);

  return {
    seeds,
    canaryImage: xrays[0]!.bytes,
    canaryForm: { body: smallForm.body, contentType: smallForm.contentType },
    quickCanaries: [small[0]![1], small[1]![1], png(96, 80, 0, 8)],
  };
}

// --- worker host ----------------------------------------------------------------------------------

type RunOutcome =
  | RunReply
  | { type: "timeout"; ms: number }
  | { type: "died"; ms: number; error: ErrorInfo }
  | { type: "rss"; ms: number; rssMb: number };

interface HostOptions {
  timeoutMs: number;
  maxOldMb: number;
  maxRssMb: number;
  data: WorkerData;
  onEscape: (afterId: number, error: ErrorInfo) => void;
  /** Called each time a worker is ready, so the caller can start its history of what this worker has seen. */
  onStart: () => void;
}

const MB = 2 ** 20;

/** Owns the worker: starts it, sends one input at a time, and ends it when an input hangs, crashes it or eats memory. */
class WorkerHost {
  private worker: Worker | undefined;
  private pending: { id: number; sent: number; resolve: (outcome: RunOutcome | { type: "canary"; ok: boolean; detail: string }) => void } | undefined;
  private nextId = 0;
  restarts = 0;
  /** Highest RSS seen while the current input ran. */
  inputPeakRss = 0;
  private readonly sampler: NodeJS.Timeout;
  peakRss = 0;
  peakRssInput: string | undefined;
  currentLabel: string | undefined;

  constructor(private readonly options: HostOptions) {
    this.sampler = setInterval(() => this.sample(), 25);
    this.sampler.unref();
  }

  private sample(): void {
    const rss = process.memoryUsage.rss();
    if (rss > this.inputPeakRss) this.inputPeakRss = rss;
    if (rss > this.peakRss) {
      this.peakRss = rss;
      this.peakRssInput = this.currentLabel;
    }
    if (this.pending && rss > this.options.maxRssMb * MB) {
      const { resolve, sent } = this.pending;
      this.pending = undefined;
      void this.kill();
      resolve({ type: "rss", ms: performance.now() - sent, rssMb: rss / MB });
    }
  }

  async start(): Promise<number> {
    // Node 20 does not run --import hooks in worker threads, so the worker loads this file through tsx's API.
    const api = import.meta.resolve("tsx/esm/api");
    const self = import.meta.url;
    const bootstrap = `import(${JSON.stringify(api)}).then(({ tsImport }) => tsImport(${JSON.stringify(self)}, ${JSON.stringify(self)}))`;
    const worker = new Worker(bootstrap, {
      eval: true,
      workerData: this.options.data,
      resourceLimits: { maxOldGenerationSizeMb: this.options.maxOldMb, maxYoungGenerationSizeMb: 64 },
      stdout: false,
      stderr: false,
    });
    this.worker = worker;
    const ready = new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("the fuzz worker did not start within 60 s")), 60_000);
      worker.once("message", (message: WorkerReply) => {
        clearTimeout(timer);
        if (message.type === "ready") resolve(message.ms);
        else reject(new Error(`unexpected first message ${message.type}`));
      });
      worker.once("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
    const ms = await ready;
    worker.on("message", (message: WorkerReply) => {
      if (message.type === "escape") return this.options.onEscape(message.afterId, message.error);
      if (!this.pending) return;
      if ((message.type === "result" || message.type === "canary") && message.id === this.pending.id) {
        const { resolve } = this.pending;
        this.pending = undefined;
        resolve(message.type === "canary" ? { type: "canary", ok: message.ok, detail: message.detail } : message);
      }
    });
    worker.on("error", (error) => this.died(describeError(error, "worker error")));
    this.options.onStart();
    worker.on("exit", (code) => {
      if (this.worker === worker) this.died({ origin: "worker exit", name: "WorkerExit", message: `the worker exited with code ${code}` });
    });
    return ms;
  }

  private died(error: ErrorInfo): void {
    this.worker = undefined;
    if (!this.pending) return;
    const { resolve, sent } = this.pending;
    this.pending = undefined;
    resolve({ type: "died", ms: performance.now() - sent, error });
  }

  private async kill(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    if (worker) await worker.terminate();
  }

  async restart(): Promise<void> {
    await this.kill();
    this.restarts++;
    await this.start();
  }

  private send(request: WorkerRequest, timeoutMs: number): Promise<RunOutcome | { type: "canary"; ok: boolean; detail: string }> {
    return new Promise((resolve) => {
      const sent = performance.now();
      const timer = setTimeout(() => {
        if (this.pending?.id !== request.id) return;
        this.pending = undefined;
        void this.kill();
        resolve({ type: "timeout", ms: performance.now() - sent });
      }, timeoutMs);
      this.inputPeakRss = process.memoryUsage.rss();
      this.pending = {
        id: request.id,
        sent,
        resolve: (outcome) => {
          clearTimeout(timer);
          resolve(outcome);
        },
      };
      this.worker!.postMessage(request);
    });
  }

  async run(input: FuzzInput, label: string, timeoutMs = this.options.timeoutMs): Promise<RunOutcome> {
    if (!this.worker) await this.restart();
    this.currentLabel = label;
    const outcome = await this.send({ type: "run", id: this.nextId++, target: input.target, bytes: input.bytes, contentType: input.contentType }, timeoutMs);
    this.currentLabel = undefined;
    return outcome as RunOutcome;
  }

  async canary(): Promise<{ ok: boolean; detail: string }> {
    if (!this.worker) await this.restart();
    const outcome = await this.send({ type: "canary", id: this.nextId++ }, 30_000);
    if (outcome.type === "canary") return outcome;
    return { ok: false, detail: `canary ended with ${outcome.type}` };
  }

  async close(): Promise<void> {
    clearInterval(this.sampler);
    await this.kill();
  }
}

// --- findings and the run ---------------------------------------------------------------------------

interface Finding {
  kind: string;
  signature: string;
  input: FuzzInput;
  ms: number;
  error?: ErrorInfo;
  detail?: string;
}

/** A stable name for a crash: its kind, error name, message without numbers and first project or library frame. */
function signatureOf(kind: string, error: ErrorInfo | undefined, input: FuzzInput): string {
  const target = input.target;
  if (!error) return `${target}:${kind}:${input.seed.split(":")[0]}:${input.mutations.map((m) => m.split(/[ @]/)[0]).join("+")}`;
  const message = error.message.replace(/\d+/g, "N").replace(/"[^"]*"/g, '"…"').slice(0, 120);
  const frame = (error.stack ?? "").split("\n").find((line) => /lambda\/core|node_modules/.test(line))?.trim().replace(/:\d+:\d+\)?$/, "") ?? "";
  return `${target}:${kind}:${error.name}:${message}:${frame}`;
}

function describeFinding(finding: Finding): string {
  const error = finding.error ? `${finding.error.name}: ${finding.error.message.split("\n")[0]}${finding.error.cause ? ` (cause ${finding.error.cause})` : ""}` : "";
  return [error, finding.detail].filter(Boolean).join(" | ");
}



async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: "string", default: "60" },
      seed: { type: "string" },
      target: { type: "string", default: "both" },
      iterations: { type: "string" },
      "timeout-ms": { type: "string", default: "2000" },
      "slow-ms": { type: "string", default: "500" },
      "max-old-mb": { type: "string", default: "512" },
      "max-rss-mb": { type: "string", default: "1536" },
      "canary-every": { type: "string", default: "250" },
      "max-per-signature": { type: "string", default: "3" },
      "state-repeats": { type: "string", default: "300" },
      out: { type: "string", default: "fuzz-findings" },
      replay: { type: "string" },
    },
  });
  const target = values.target!;
  if (!["multipart", "image", "both"].includes(target)) throw new Error(`--target must be multipart, image or both, not ${target}`);
  const seconds = Number(values.seconds);
  const seed = values.seed !== undefined ? Number(values.seed) >>> 0 : (Date.now() ^ process.pid) >>> 0;
  const iterations = values.iterations !== undefined ? Number(values.iterations) : Infinity;
  const timeoutMs = Number(values["timeout-ms"]);
  const slowMs = Number(values["slow-ms"]);
  const maxRssMb = Number(values["max-rss-mb"]);
  const canaryEvery = Number(values["canary-every"]);
  const maxPerSignature = Number(values["max-per-signature"]);
  const stateRepeats = Number(values["state-repeats"]);
  const outDir = values.out!;
  const { readManifest, defaultModelDir } = await import("../lambda/core/manifest.js");
  const spec = (await readManifest(defaultModelDir())).input.preprocessing;
  const { seeds, canaryImage, canaryForm, quickCanaries } = await buildSeeds();

  const escapes: { afterId: number; error: ErrorInfo }[] = [];
  /** Every input the current worker has run, oldest first (bounded), to replay when a finding needs earlier state. */
  const history: FuzzInput[] = [];
  let historyBytes = 0;
  const HISTORY_CAP_BYTES = 256 * MB;
  const host = new WorkerHost({
    timeoutMs,
    maxOldMb: Number(values["max-old-mb"]),
    maxRssMb,
    data: { spec, canaryImage, canaryForm, quickCanaries },
    onEscape: (afterId, error) => escapes.push({ afterId, error }),
    onStart: () => {
      history.length = 0;
      historyBytes = 0;
    },
  });
  const startMs = await host.start();

  if (values.replay) {
    await replay(host, values.replay, timeoutMs);
    await host.close();
    return;
  }

  const codeAtStart = codeVersion();
  const targets: Target[] = target === "both" ? ["multipart", "image"] : [target as Target];
  const rng = new Random(seed);
  const stats = Object.fromEntries(
    targets.map((t) => [t, { inputs: 0, resolved: 0, refused: new Map<string, number>(), crashes: 0, timeouts: 0, slow: 0, times: [] as number[] }]),
  ) as Record<Target, { inputs: number; resolved: number; refused: Map<string, number>; crashes: number; timeouts: number; slow: number; times: number[] }>;
  const mutationUse = new Map<string, number>();
  const signatures = new Map<
    string,
    { count: number; kind: string; files: string[]; reproduced?: boolean; repeatsToReproduce?: number; reproducedAfterHistory?: number; historyDir?: string; first: Finding }
  >();
  const slowest: Record<string, { ms: number; label: string; file?: string } | undefined> = {};
  const slowCases: { ms: number; label: string; file: string }[] = [];
  let canaries = 0;
  let canaryFailures = 0;
  let lastInput: FuzzInput | undefined;
  const sinceCanary: FuzzInput[] = [];
  await mkdir(outDir, { recursive: true });

  const labelOf = (input: FuzzInput) => `${input.target} #${input.iteration} seed=${input.seed} mutations=[${input.mutations.join(" + ")}]`;
  const baseName = (input: FuzzInput, kind: string) =>
    `${input.target}-${kind}-${createHash("sha256").update(input.bytes).update(input.contentType ?? "").digest("hex").slice(0, 12)}`;

  async function save(input: FuzzInput, kind: string, extra: Record<string, unknown>): Promise<string> {
    const name = baseName(input, kind);
    await writeFile(join(outDir, `${name}.bin`), input.bytes);
    const json = {
      kind,
      target: input.target,
      input: `${name}.bin`,
      bytes: input.bytes.length,
      contentType: input.contentType,
      seed: input.seed,
      mutations: input.mutations,
      rngSeed: seed,
      iteration: input.iteration,
      node: process.version,
      replay: `npm run fuzz -- --replay ${join(outDir, `${name}.json`)}`,
      ...extra,
    };
    await writeFile(join(outDir, `${name}.json`), `${JSON.stringify(json, null, 2)}\n`);
    return join(outDir, `${name}.json`);
  }

  /** Saves the inputs a worker ran before a finding, in order, so the finding can be replayed with them. */
  async function saveHistory(input: FuzzInput, before: FuzzInput[]): Promise<string> {
    const dir = join(outDir, `${baseName(input, "history")}`);
    await mkdir(dir, { recursive: true });
    const order = [];
    for (const [k, earlier] of before.entries()) {
      const file = `${String(k).padStart(5, "0")}-${earlier.target}.bin`;
      await writeFile(join(dir, file), earlier.bytes);
      order.push({ file, target: earlier.target, contentType: earlier.contentType, iteration: earlier.iteration, seed: earlier.seed, mutations: earlier.mutations });
    }
    await writeFile(join(dir, "order.json"), `${JSON.stringify(order, null, 1)}\n`);
    return dir;
  }

  async function record(finding: Finding): Promise<void> {
    const before = history.slice(0, Math.max(0, history.lastIndexOf(finding.input)));
    const stat = stats[finding.input.target];
    if (finding.kind === "timeout") stat.timeouts++;
    else stat.crashes++;
    let entry = signatures.get(finding.signature);
    if (!entry) {
      entry = { count: 0, kind: finding.kind, files: [], first: finding };
      signatures.set(finding.signature, entry);
      // Does it reproduce on its own, in a fresh worker? A state finding may need the input many times over
      // (a leak that builds up), so that one is repeated until the known-good images fail, up to stateRepeats times.
      await host.restart();
      const repeats = finding.kind === "state" ? stateRepeats : 1;
      for (let k = 1; k <= repeats && entry.reproduced === undefined; k++) {
        const again = await host.run(finding.input, labelOf(finding.input), Math.max(timeoutMs, 10_000));
        if (again.type !== "result" || again.verdict === "crash") {
          entry.reproduced = true;
          entry.repeatsToReproduce = k;
        }
      }
      entry.reproduced ??= false;
      // Not alone: does it with what this worker ran before it, replayed in order in a fresh worker?
      if (!entry.reproduced && before.length > 0) {
        await host.restart();
        let replayed = 0;
        for (const earlier of before) {
          if ((await host.run(earlier, labelOf(earlier))).type !== "result") break;
          replayed++;
        }
        if (replayed === before.length) {
          const again = await host.run(finding.input, labelOf(finding.input), Math.max(timeoutMs, 10_000));
          if (again.type !== "result" || again.verdict === "crash") {
            entry.reproducedAfterHistory = before.length;
            entry.historyDir = await saveHistory(finding.input, before);
          }
        }
      }
      await host.restart();
    } else if (finding.kind === "state") {
      await host.restart(); // the decoder is broken: later inputs get a fresh one
    }
    entry.count++;
    if (entry.files.length < maxPerSignature) {
      entry.files.push(
        await save(finding.input, finding.kind, {
          signature: finding.signature,
          ms: Math.round(finding.ms * 10) / 10,
          error: finding.error,
          detail: finding.detail,
          reproducedInFreshWorker: entry.reproduced,
          ...(entry.repeatsToReproduce !== undefined ? { timesRunInFreshWorkerToReproduce: entry.repeatsToReproduce } : {}),
          ...(entry.historyDir ? { reproducedAfterReplayingEarlierInputs: entry.reproducedAfterHistory, history: entry.historyDir } : {}),
          rssMbAtDetection: Math.round(process.memoryUsage.rss() / MB),
        }),
      );
    }
    console.error(`[fuzz] ${finding.kind}: ${labelOf(finding.input)} | ${describeFinding(finding)}`);
  }

  // The seeds themselves must all be accepted, or the fuzzer is mutating the wrong thing.
  const seedProblems: string[] = [];
  for (const s of seeds) {
    const outcome = await host.run({ iteration: -1, target: s.target, bytes: s.bytes, contentType: s.contentType, seed: s.name, mutations: [] }, `seed ${s.name}`);
    const expectRefusal = /two-files|other-field|empty/.test(s.name);
    if (outcome.type !== "result" || outcome.verdict === "crash" || (outcome.verdict === "refused") !== expectRefusal) {
      seedProblems.push(`${s.name}: ${outcome.type === "result" ? `${outcome.verdict} ${outcome.status ?? ""} ${outcome.code ?? ""}` : outcome.type}`);
    }
  }

  await host.restart(); // the fuzzing starts on a worker that has seen nothing, so its history is complete
  host.restarts = 0;

  const started = performance.now();
  const deadline = started + seconds * 1000;
  let lastProgress = started;
  let iteration = 0;
  console.error(`[fuzz] seed ${seed}, target ${target}, ${seconds} s, ${seeds.length} seeds, worker ready in ${startMs.toFixed(0)} ms`);

  while (performance.now() < deadline && iteration < iterations) {
    const t = targets[iteration % targets.length]!;
    const input = generate(rng, iteration, t, seeds);
    iteration++;
    for (const m of input.mutations) {
      const name = m.split(/[ @]/)[0]!;
      mutationUse.set(name, (mutationUse.get(name) ?? 0) + 1);
    }
    const label = labelOf(input);
    const stat = stats[t];
    stat.inputs++;
    lastInput = input;
    sinceCanary.push(input);
    history.push(input);
    historyBytes += input.bytes.length;
    while (historyBytes > HISTORY_CAP_BYTES && history.length > 1) historyBytes -= history.shift()!.bytes.length;
    const outcome = await host.run(input, label);

    const ms = outcome.ms;
    stat.times.push(ms);
    if (!slowest[t] || ms > slowest[t]!.ms) slowest[t] = { ms, label };
    if (outcome.type === "result") {
      if (outcome.verdict === "resolved") stat.resolved++;
      else if (outcome.verdict === "refused") {
        const key = `${outcome.status} ${outcome.code}`;
        stat.refused.set(key, (stat.refused.get(key) ?? 0) + 1);
      } else {
        const kind = outcome.reason ?? "crash";
        const signature =
          kind === "state"
            ? `${t}:state:input ${outcome.status ?? "resolved"} ${outcome.error?.cause ?? ""}:known-good image then ${/cause: (.*)\)$/.exec(outcome.detail ?? "")?.[1] ?? outcome.detail}`.replace(/\d{3,}/g, "N")
            : signatureOf(kind, outcome.error, input);
        await record({ kind, signature, input, ms, ...(outcome.error ? { error: outcome.error } : {}), ...(outcome.detail ? { detail: outcome.detail } : {}) });
      }
      if (outcome.verdict !== "crash" && ms >= slowMs) {
        stat.slow++;
        if (slowCases.length < 20) {
          const file = await save(input, "slow", { ms: Math.round(ms * 10) / 10, verdict: outcome.verdict, status: outcome.status, code: outcome.code, rssMbPeakDuringInput: Math.round(host.inputPeakRss / MB) });
          slowCases.push({ ms, label, file });
          if (slowest[t]!.label === label) slowest[t]!.file = file;
        }
      }
    } else if (outcome.type === "timeout") {
      await record({ kind: "timeout", signature: signatureOf("timeout", undefined, input), input, ms, detail: `no answer within ${timeoutMs} ms; the worker was terminated` });
    } else if (outcome.type === "died") {
      const kind = String(outcome.error.code ?? "").includes("OUT_OF_MEMORY") ? "oom" : "worker-died";
      await record({ kind, signature: signatureOf(kind, outcome.error, input), input, ms, error: outcome.error });
    } else {
      await record({ kind: "rss", signature: signatureOf("rss", undefined, input), input, ms, detail: `process RSS reached ${outcome.rssMb.toFixed(0)} MB (cap ${maxRssMb} MB); the worker was terminated` });
    }

    while (escapes.length > 0) {
      const escape = escapes.shift()!;
      await record({ kind: `late-${escape.error.origin}`, signature: signatureOf(`late-${escape.error.origin}`, escape.error, lastInput), input: lastInput, ms: 0, error: escape.error });
    }

    if (iteration % canaryEvery === 0) {
      canaries++;
      const canary = await host.canary();
      if (!canary.ok) {
        canaryFailures++;
        const batch = join(outDir, `state-after-${seed}-${iteration}`);
        await mkdir(batch, { recursive: true });
        for (const earlier of sinceCanary) await writeFile(join(batch, `${earlier.iteration}-${earlier.target}.bin`), earlier.bytes);
        await writeFile(join(batch, "batch.json"), JSON.stringify({ detail: canary.detail, inputs: sinceCanary.map((i) => ({ iteration: i.iteration, target: i.target, contentType: i.contentType, seed: i.seed, mutations: i.mutations })) }, null, 2));
        console.error(`[fuzz] canary failed after iteration ${iteration}: ${canary.detail}; the ${sinceCanary.length} inputs since the last canary are in ${batch}`);
        await host.restart();
      }
      sinceCanary.length = 0;
    }

    const now = performance.now();
    if (now - lastProgress > 30_000) {
      lastProgress = now;
      const line = targets.map((x) => `${x} ${stats[x].inputs} (${stats[x].crashes} crashes, ${stats[x].timeouts} timeouts)`).join(", ");
      console.error(`[fuzz] ${((now - started) / 1000).toFixed(0)} s: ${line}, rss ${(process.memoryUsage.rss() / MB).toFixed(0)} MB`);
    }
  }
  const ran = (performance.now() - started) / 1000;
  const codeAtEnd = codeVersion();
  await host.close();

  const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? 0) / 1024;
  const totalCrashes = targets.reduce((sum, t) => sum + stats[t].crashes, 0);
  const totalTimeouts = targets.reduce((sum, t) => sum + stats[t].timeouts, 0);
  const lines = [
    `fuzz summary: seed ${seed}, target ${target}, ${ran.toFixed(1)} s run (asked ${seconds} s), node ${process.version}, ${seeds.length} seeds`,
    `  code: ${codeAtStart}${codeAtEnd !== codeAtStart ? ` at start, ${codeAtEnd} at the end (workers restarted since then load the new code)` : ""}; image limits ${IMAGE_LIMITS.maxSide} px a side, ${IMAGE_LIMITS.maxPixels / 1e6} MP`,
    `  seeds accepted as expected: ${seedProblems.length === 0 ? "all" : `NO: ${seedProblems.join("; ")}`}`,
  ];
  for (const t of targets) {
    const s = stats[t];
    const sorted = s.times.slice().sort((a, b) => a - b);
    const refused = [...s.refused.entries()].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(", ");
    lines.push(
      `  ${t}: ${s.inputs} inputs tried; resolved ${s.resolved}; refused ${s.inputs - s.resolved - s.crashes - s.timeouts} (${refused || "none"}); crashes ${s.crashes}; timeouts ${s.timeouts}; slow (>= ${slowMs} ms) ${s.slow}`,
      `    time per input: p50 ${quantile(sorted, 0.5).toFixed(2)} ms, p99 ${quantile(sorted, 0.99).toFixed(2)} ms, max ${(sorted.at(-1) ?? 0).toFixed(1)} ms`,
      `    slowest: ${slowest[t] ? `${slowest[t]!.ms.toFixed(1)} ms, ${slowest[t]!.label}${slowest[t]!.file ? ` (saved ${slowest[t]!.file})` : ""}` : "n/a"}`,
    );
  }
  lines.push(`  crashes: ${totalCrashes}, timeouts: ${totalTimeouts}, unique signatures: ${signatures.size}`);
  for (const [signature, entry] of signatures) {
    const how =
      entry.repeatsToReproduce !== undefined && entry.repeatsToReproduce > 1
        ? ` (after running it ${entry.repeatsToReproduce} times)`
        : entry.historyDir
          ? `; after replaying the ${entry.reproducedAfterHistory} inputs the worker ran before it: true (${entry.historyDir})`
          : "";
    lines.push(`    [${entry.kind}] x${entry.count}, reproduces alone in a fresh worker: ${entry.reproduced}${how} — ${signature}`);
    lines.push(`      first: ${labelOf(entry.first.input)}`, `      what: ${describeFinding(entry.first)}`);
    if (entry.first.error?.stack) lines.push(...entry.first.error.stack.split("\n").slice(0, 8).map((l) => `      ${l}`));
    lines.push(`      saved: ${entry.files.join(", ")}`);
  }
  lines.push(
    `  peak RSS: ${(host.peakRss / MB).toFixed(0)} MB sampled every 25 ms (during ${host.peakRssInput ?? "no input"}); process VmHWM ${hwm.toFixed(0)} MB; worker heap cap ${values["max-old-mb"]} MB, RSS cap ${maxRssMb} MB`,
    `  worker restarts: ${host.restarts}; canary checks ${canaries}, failures ${canaryFailures}; late escapes after an answer: ${[...signatures.values()].filter((e) => e.kind.startsWith("late-")).length}`,
    `  slow inputs saved: ${slowCases.length}${slowCases.length ? ` (top: ${slowCases.sort((a, b) => b.ms - a.ms).slice(0, 3).map((c) => `${c.ms.toFixed(0)} ms ${c.file}`).join("; ")})` : ""}`,
    `  mutations used: ${[...mutationUse.entries()].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(", ")}`,
    `  findings: ${outDir}/ (${signatures.size === 0 ? "no crashes" : `${[...signatures.values()].reduce((n, e) => n + e.files.length, 0)} crash inputs`})`,
  );
  console.log(lines.join("\n"));
  process.exitCode = totalCrashes + totalTimeouts + canaryFailures > 0 || seedProblems.length > 0 ? 1 : 0;
}

/** Runs one saved finding again in a fresh worker and prints what happens. */
async function replay(host: WorkerHost, path: string, timeoutMs: number): Promise<void> {
  const description = JSON.parse(await readFile(path, "utf8")) as { target: Target; input: string; contentType: string | null; seed?: string; mutations?: string[]; history?: string };
  const bytes = await readFile(join(dirname(path), description.input));
  if (description.history) {
    // Replays first what the worker had run before the finding, in order.
    const order = JSON.parse(await readFile(join(description.history, "order.json"), "utf8")) as { file: string; target: Target; contentType: string | null }[];
    for (const earlier of order) {
      const input: FuzzInput = { iteration: -1, target: earlier.target, bytes: await readFile(join(description.history, earlier.file)), contentType: earlier.contentType, seed: "history", mutations: [] };
      await host.run(input, `history ${earlier.file}`);
    }
    console.error(`[fuzz] replayed ${order.length} earlier inputs from ${description.history}`);
  }
  const input: FuzzInput = { iteration: -1, target: description.target, bytes, contentType: description.contentType, seed: description.seed ?? "replay", mutations: description.mutations ?? [] };
  const outcome = await host.run(input, `replay ${path}`, Math.max(timeoutMs, 30_000));
  console.log(JSON.stringify({ replayed: path, target: input.target, bytes: bytes.length, peakRssMb: Math.round(host.inputPeakRss / MB), outcome }, null, 2));
  process.exitCode = outcome.type === "result" && outcome.verdict !== "crash" ? 0 : 1;
}

if (isMainThread) {
  await main();
} else {
  await workerMain();
}

