import type { Worker } from "node:worker_threads";
import { logger } from "../core/logger.js";
import type { Classification, OnnxModel, ExecutionProviderName } from "../core/model/onnx-model.js";
import type { ModelManifest } from "../core/model/manifest.js";
import { startReadyWorker } from "../core/worker-thread.js";
import { ModelLoadError } from "../core/model/model-load-error.js";

/** What the inference worker is started with. */
export interface InferenceWorkerData {
  modelDir: string;
  /** Threads of one CPU run of the model. */
  threads: number;
}

/** Messages between InferenceThread and lambda/inference-worker.ts. */
export type ToInferenceWorker = { id: number; tensors: Float32Array[]; explain: boolean[] };
export type FromInferenceWorker =
  | { ready: true; manifest: ModelManifest; executionProviders: ExecutionProviderName[] }
  | { id: number; results: Classification[] }
  | { id: number; error: string };

interface Call {
  resolve: (results: Classification[]) => void;
  reject: (error: Error) => void;
}

/**
 * The model on a thread of its own. onnxruntime-node runs a session synchronously on the calling thread,
 * so on the server's event loop every batch would stall reading requests and feeding the preprocessing
 * workers. A worker that stops is replaced (the model reloaded); the batches it held fail with 500.
 */
export class InferenceThread implements Pick<OnnxModel, "classifyBatch"> {
  private readonly calls = new Map<number, Call>();
  private nextId = 0;
  private closing = false;

  private constructor(
    private worker: Promise<Worker>,
    readonly manifest: ModelManifest,
    /** The execution providers the model runs on, after any fall-back to the CPU. */
    readonly executionProviders: readonly ExecutionProviderName[],
    private readonly respawn: () => Promise<{ worker: Worker }>,
  ) {}

  /** Starts the worker and resolves once its model is loaded and warm; rejects with a ModelLoadError when it cannot load it. */
  static async start(workerUrl: URL, data: InferenceWorkerData): Promise<InferenceThread> {
    let thread: InferenceThread | undefined;
    const start = () =>
      startReadyWorker<Extract<FromInferenceWorker, { ready: true }>, Exclude<FromInferenceWorker, { ready: true }>>(workerUrl, data, {
        name: "inference",
        onMessage: (message) => thread?.settle(message),
        onExit: (code) => thread?.replace(code),
      });
    const { worker, ready } = await start().catch((error: unknown) => {
      throw ModelLoadError.revive(error) ?? error;
    });
    thread = new InferenceThread(Promise.resolve(worker), ready.manifest, ready.executionProviders, start);
    return thread;
  }

  /** Values in one image's input tensor. */
  get inputSize(): number {
    const { width, height } = this.manifest.input.preprocessing;
    return width * height;
  }

  async classifyBatch(tensors: readonly Float32Array[], explain: readonly boolean[] = []): Promise<Classification[]> {
    const worker = await this.worker;
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.calls.set(id, { resolve, reject });
      worker.postMessage({ id, tensors: [...tensors], explain: [...explain] } satisfies ToInferenceWorker, tensors.map((tensor) => tensor.buffer as ArrayBuffer));
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    await (await this.worker).terminate();
  }

  private settle(message: Exclude<FromInferenceWorker, { ready: true }>): void {
    const call = this.calls.get(message.id);
    this.calls.delete(message.id);
    if ("error" in message) call?.reject(new Error(message.error));
    else call?.resolve(message.results);
  }

  private replace(exitCode: number): void {
    for (const call of this.calls.values()) call.reject(new Error(`The inference worker stopped (exit code ${exitCode}).`));
    this.calls.clear();
    if (this.closing) return;
    logger.error("inference worker stopped; starting another", { exitCode });
    this.worker = this.respawn().then(({ worker }) => worker);
    this.worker.catch((error: unknown) => logger.error("could not restart the inference worker", { error: error as Error }));
  }
}
