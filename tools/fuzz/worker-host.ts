import { Worker } from "node:worker_threads";
import { describeError } from "./protocol.js";
import type { ErrorInfo, FuzzInput, RunReply, WorkerData, WorkerReply, WorkerRequest } from "./protocol.js";

/** How one input ended: the worker's answer, or the host ending the worker because it hung, died or used too much memory. */
export type RunOutcome =
  | RunReply
  | { type: "timeout"; ms: number }
  | { type: "died"; ms: number; error: ErrorInfo }
  | { type: "rss"; ms: number; rssMb: number };

/** The caps a worker runs under, what it is started with, and hooks for what happens outside a single input. */
export interface HostOptions {
  timeoutMs: number;
  maxOldMb: number;
  maxRssMb: number;
  data: WorkerData;
  onEscape: (afterId: number, error: ErrorInfo) => void;
  /** Called each time a worker is ready, so the caller can start its history of what this worker has seen. */
  onStart: () => void;
}

/** One mebibyte, for the MB figures in caps and reports. */
export const MB = 2 ** 20;

/** Owns the worker: starts it, sends one input at a time, and ends it when an input hangs, crashes it or eats memory. */
export class WorkerHost {
  private worker: Worker | undefined;
  private pending: { id: number; sent: number; resolve: (outcome: RunOutcome | { type: "canary"; ok: boolean; detail: string }) => void } | undefined;
  private nextId = 0;
  /** Workers started after the first; the caller resets it once the seeds have been checked. */
  restarts = 0;
  /** Highest RSS seen while the current input ran. */
  inputPeakRss = 0;
  private readonly sampler: NodeJS.Timeout;
  /** Highest process RSS sampled over the whole run, and the label of the input that was running then. */
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

  /** Starts a worker and resolves with how long it took to be ready (ms), project code loaded. */
  async start(): Promise<number> {
    // Node 20 does not run --import hooks in worker threads, so the worker loads its entry through tsx's API.
    const api = import.meta.resolve("tsx/esm/api");
    const entry = new URL("./worker.ts", import.meta.url).href;
    const bootstrap = `import(${JSON.stringify(api)}).then(({ tsImport }) => tsImport(${JSON.stringify(entry)}, ${JSON.stringify(entry)}))`;
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

  /** Replaces the worker with a fresh one, so what earlier inputs left behind is gone. */
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

  /** Runs one input under the time cap; label names it in the peak-RSS report. */
  async run(input: FuzzInput, label: string, timeoutMs = this.options.timeoutMs): Promise<RunOutcome> {
    if (!this.worker) await this.restart();
    this.currentLabel = label;
    const outcome = await this.send({ type: "run", id: this.nextId++, target: input.target, bytes: input.bytes, contentType: input.contentType }, timeoutMs);
    this.currentLabel = undefined;
    return outcome as RunOutcome;
  }

  /** Has the worker decode its reference image and form again, to catch state an input left broken. */
  async canary(): Promise<{ ok: boolean; detail: string }> {
    if (!this.worker) await this.restart();
    const outcome = await this.send({ type: "canary", id: this.nextId++ }, 30_000);
    if (outcome.type === "canary") return outcome;
    return { ok: false, detail: `canary ended with ${outcome.type}` };
  }

  /** Stops the RSS sampler and the worker, so the process can exit. */
  async close(): Promise<void> {
    clearInterval(this.sampler);
    await this.kill();
  }
}
