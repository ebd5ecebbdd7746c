import { inspect } from "node:util";
import type { PreprocessingSpec } from "../../lambda/core/model/preprocessing-spec.js";

/** Which parser an input is for: the multipart form parser or the image entry point. */
/** The parser driven: the multipart form parser, or the image entry point with JPEG/PNG or with DICOM inputs. */
export type Target = "multipart" | "image" | "dicom";

/** One fuzz input, as generated on the main thread. */
export interface FuzzInput {
  iteration: number;
  target: Target;
  bytes: Uint8Array;
  /** The Content-Type header sent with a form (multipart target only); null stands for a missing header. */
  contentType: string | null;
  seed: string;
  mutations: string[];
}

/** An error flattened to plain data, so it survives postMessage and can be written to a finding's JSON. */
export interface ErrorInfo {
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
export interface RunReply {
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

/** Every message the worker posts to the main thread. */
export type WorkerReply =
  | { type: "ready"; ms: number }
  | RunReply
  | { type: "canary"; id: number; ok: boolean; detail: string }
  | { type: "escape"; afterId: number; error: ErrorInfo };

/** Every message the main thread posts to the worker. */
export type WorkerRequest =
  | { type: "run"; id: number; target: Target; bytes: Uint8Array; contentType: string | null }
  | { type: "canary"; id: number };

/** What the worker is started with: the model's preprocessing and the known-good inputs it checks for drift. */
export interface WorkerData {
  spec: PreprocessingSpec;
  /**
   * Small known-good JPEGs (one decoded at a reduced scale) and a PNG, decoded after every image input: a decoder
   * left broken by an input shows at once.
   */
  quickCanaries: Uint8Array[];
  canaryImage: Uint8Array;
  canaryForm: { body: Uint8Array; contentType: string };
}

/** An error's cause in one line; a cause can be anything thrown, not only an Error. */
function describeCause(cause: unknown): string {
  if (typeof cause === "object" && cause !== null && "message" in cause) {
    const { name, message } = cause as { name?: unknown; message?: unknown };
    return `${String(name ?? "Object")}: ${String(message)}`.slice(0, 500);
  }
  return inspect(cause, { breakLength: Infinity, depth: 2 }).slice(0, 500);
}

/** Flattens anything thrown (or a worker's error event) into an ErrorInfo, capped so one finding stays readable. */
export function describeError(error: unknown, origin: string): ErrorInfo {
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
