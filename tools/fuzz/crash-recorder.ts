import { describeFinding, labelOf } from "./finding.js";
import type { Finding } from "./finding.js";
import type { FindingFiles } from "./finding-files.js";
import type { InputHistory } from "./input-history.js";
import type { FuzzInput } from "./protocol.js";
import { MB } from "./worker-host.js";
import type { WorkerHost } from "./worker-host.js";

/** What is known about one crash signature, for its saved JSON and the summary. */
export interface SignatureEntry {
  count: number;
  kind: string;
  files: string[];
  reproduced?: boolean;
  repeatsToReproduce?: number;
  reproducedAfterHistory?: number;
  historyDir?: string;
  first: Finding;
}

/** The limits on how hard a finding is tried again and how many of its inputs are kept. */
export interface RecorderOptions {
  timeoutMs: number;
  stateRepeats: number;
  maxPerSignature: number;
}

/**
 * Records findings by signature: the first of each is re-run in fresh workers to see whether (and how) it
 * reproduces, and up to maxPerSignature inputs of each are saved, so a long run does not fill the disk with one bug.
 */
export class CrashRecorder {
  readonly signatures = new Map<string, SignatureEntry>();

  constructor(
    private readonly host: WorkerHost,
    private readonly history: InputHistory,
    private readonly files: FindingFiles,
    private readonly options: RecorderOptions,
  ) {}

  /** Records one finding; the worker is fresh afterwards whenever it may have been left in a bad state. */
  async record(finding: Finding): Promise<void> {
    // Taken before any restart, which clears the history.
    const before = this.history.before(finding.input);
    let entry = this.signatures.get(finding.signature);
    if (!entry) {
      entry = { count: 0, kind: finding.kind, files: [], first: finding };
      this.signatures.set(finding.signature, entry);
      await this.reproduce(entry, finding, before);
    } else if (finding.kind === "state") {
      await this.host.restart(); // the decoder is broken: later inputs get a fresh one
    }
    entry.count++;
    if (entry.files.length < this.options.maxPerSignature) {
      entry.files.push(
        await this.files.save(finding.input, finding.kind, {
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

  /** Fills in the entry's reproduction fields; leaves a fresh worker behind. */
  private async reproduce(entry: SignatureEntry, finding: Finding, before: FuzzInput[]): Promise<void> {
    const { host } = this;
    const timeoutMs = Math.max(this.options.timeoutMs, 10_000);
    // Does it reproduce on its own, in a fresh worker? A state finding may need the input many times over
    // (a leak that builds up), so that one is repeated until the known-good images fail, up to stateRepeats times.
    await host.restart();
    const repeats = finding.kind === "state" ? this.options.stateRepeats : 1;
    for (let k = 1; k <= repeats && entry.reproduced === undefined; k++) {
      const again = await host.run(finding.input, labelOf(finding.input), timeoutMs);
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
        const again = await host.run(finding.input, labelOf(finding.input), timeoutMs);
        if (again.type !== "result" || again.verdict === "crash") {
          entry.reproducedAfterHistory = before.length;
          entry.historyDir = await this.files.saveHistory(finding.input, before);
        }
      }
    }
    await host.restart();
  }
}
