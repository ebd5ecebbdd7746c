import type { Worker } from "node:worker_threads";
import { IMAGE_LIMITS } from "../limits.js";
import { apiErrorFromData, UnusableImageError, type ApiErrorData } from "../errors.js";
import { siblingWorkerUrl, startReadyWorker } from "../worker-thread.js";
import type { DicomImage } from "./read-dicom-image.js";
import type { StoredWords } from "./codecs/frame-check.js";

/** A frame for the codec thread: the image with a copy of just its frame's bytes, transferred. */
export interface CodecRequest {
  id: number;
  image: DicomImage;
}

/** The codec thread's answer: the stored values, or the error that is the file's answer. */
export type CodecReply = { ready: true } | { id: number; words: StoredWords } | { id: number; error: ApiErrorData };

/** How long a frame of this size may take to decode before its thread is ended. */
export function decodeBudgetMs(image: Pick<DicomImage, "rows" | "columns">): number {
  const { base, perMegapixel, max } = IMAGE_LIMITS.compressedDicomDecodeMs;
  return Math.min(max, base + (perMegapixel * image.rows * image.columns) / 1e6);
}

let thread: Promise<Worker> | undefined;
let pending: { id: number; settle: (reply: CodecReply) => void } | undefined;
let queue: Promise<unknown> = Promise.resolve();
let nextId = 0;

function codecThread(): Promise<Worker> {
  // Without the query tsx's tsImport adds to module URLs (the fuzzer loads the core so), which hides the .ts.
  const moduleUrl = import.meta.url.split("?")[0]!;
  thread ??= startReadyWorker<{ ready: true }, CodecReply>(siblingWorkerUrl("dicom-codec-worker", moduleUrl), undefined, {
    name: "DICOM codec",
    onMessage: (reply) => {
      if (pending && "id" in reply && reply.id === pending.id) pending.settle(reply);
    },
    onExit: () => {
      thread = undefined;
    },
  }).then(({ worker }) => {
    // The thread must not keep a process (npm start, a test run) alive once everything else is done.
    worker.unref();
    return worker;
  });
  return thread.catch((error: unknown) => {
    thread = undefined;
    throw error;
  });
}

async function decodeOne(image: DicomImage): Promise<StoredWords> {
  const worker = await codecThread();
  const id = nextId++;
  // A copy with a buffer of its own, transferred: pixelData may be a Buffer view into the upload (whose slice() is
  // another view), and transferring that would detach the request's bytes.
  const frame = new Uint8Array(image.pixelData);
  const budgetMs = decodeBudgetMs(image);
  const reply = await new Promise<CodecReply | undefined>((resolve) => {
    const timer = setTimeout(() => resolve(undefined), budgetMs);
    pending = {
      id,
      settle: (message) => {
        clearTimeout(timer);
        resolve(message);
      },
    };
    worker.postMessage({ id, image: { ...image, pixelData: frame } } satisfies CodecRequest, [frame.buffer]);
  });
  pending = undefined;
  if (!reply) {
    thread = undefined;
    await worker.terminate();
    throw new UnusableImageError(
      `The DICOM file's ${image.transferSyntax.name} frame did not decode within ${(budgetMs / 1000).toFixed(1)} s; it is corrupt or crafted. Send the original file.`,
    );
  }
  if ("error" in reply) throw apiErrorFromData(reply.error);
  return (reply as { words: StoredWords }).words;
}

/**
 * Decodes a compressed frame on the codec thread, one frame at a time, within decodeBudgetMs: the third-party
 * codecs run synchronously in WebAssembly or JavaScript, where a frame that never returns would otherwise hang
 * the process; past the budget the thread is ended (the next frame starts a fresh one) and the file gets 422.
 */
export function decodeOnCodecThread(image: DicomImage): Promise<StoredWords> {
  const result = queue.then(() => decodeOne(image));
  queue = result.catch(() => undefined);
  return result;
}
