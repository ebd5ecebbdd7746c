import { codeVersion } from "../run-report.js";
import { CrashRecorder } from "./crash-recorder.js";
import type { SignatureEntry } from "./crash-recorder.js";
import { labelOf, signatureOf, stateSignatureOf } from "./finding.js";
import type { Finding } from "./finding.js";
import { FindingFiles } from "./finding-files.js";
import { generate } from "./generate.js";
import type { InputHistory } from "./input-history.js";
import type { Seed } from "./mutator.js";
import type { ErrorInfo, FuzzInput, Target } from "./protocol.js";
import { Random } from "./random.js";
import { MB } from "./worker-host.js";
import type { RunOutcome, WorkerHost } from "./worker-host.js";

/** The options of a fuzzing run, from the command line. */
export interface CampaignOptions {
  target: Target | "both";
  seconds: number;
  seed: number;
  iterations: number;
  timeoutMs: number;
  slowMs: number;
  maxRssMb: number;
  canaryEvery: number;
  maxPerSignature: number;
  stateRepeats: number;
  outDir: string;
}

/** An uncaught exception or unhandled rejection the worker reported after it had answered an input. */
export interface Escape {
  afterId: number;
  error: ErrorInfo;
}

/** Counts and timings of one target's inputs. */
export interface TargetStats {
  inputs: number;
  resolved: number;
  /** Refusals by "status code", e.g. "400 MALFORMED_FORM". */
  refused: Map<string, number>;
  crashes: number;
  timeouts: number;
  slow: number;
  times: number[];
}

/** What a run found and measured, for the summary. */
export interface CampaignResult {
  targets: Target[];
  seedProblems: string[];
  /** Seconds the fuzzing loop ran. */
  ran: number;
  codeAtStart: string;
  codeAtEnd: string;
  stats: Record<Target, TargetStats>;
  slowest: Record<string, { ms: number; label: string; file?: string } | undefined>;
  slowCases: { ms: number; label: string; file: string }[];
  signatures: Map<string, SignatureEntry>;
  canaries: number;
  canaryFailures: number;
  mutationUse: Map<string, number>;
}

/** Runs every seed unmutated: they must all be accepted (or refused where meant to), or the fuzzer mutates the wrong thing. */
async function checkSeeds(host: WorkerHost, seeds: readonly Seed[]): Promise<string[]> {
  const seedProblems: string[] = [];
  for (const s of seeds) {
    const outcome = await host.run({ iteration: -1, target: s.target, bytes: s.bytes, contentType: s.contentType, seed: s.name, mutations: [] }, `seed ${s.name}`);
    const expectRefusal = /two-files|other-field|empty/.test(s.name);
    if (outcome.type !== "result" || outcome.verdict === "crash" || (outcome.verdict === "refused") !== expectRefusal) {
      seedProblems.push(`${s.name}: ${outcome.type === "result" ? `${outcome.verdict} ${outcome.status ?? ""} ${outcome.code ?? ""}` : outcome.type}`);
    }
  }
  return seedProblems;
}

/**
 * The fuzzing run: checks the seeds, then sends generated inputs (targets taking turns) until the time or
 * iteration budget is spent, recording findings, slow inputs, late escapes and canary failures on the way.
 * `history` and `escapes` are the ones the host's hooks fill.
 */
export async function runCampaign(
  options: CampaignOptions,
  host: WorkerHost,
  seeds: readonly Seed[],
  history: InputHistory,
  escapes: Escape[],
  startMs: number,
): Promise<CampaignResult> {
  const { target, seconds, seed, iterations, timeoutMs, slowMs, maxRssMb, canaryEvery } = options;
  const codeAtStart = codeVersion();
  const targets: Target[] = target === "both" ? ["multipart", "image"] : [target];
  const rng = new Random(seed);
  const stats = Object.fromEntries(
    targets.map((t) => [t, { inputs: 0, resolved: 0, refused: new Map<string, number>(), crashes: 0, timeouts: 0, slow: 0, times: [] as number[] }]),
  ) as Record<Target, TargetStats>;
  const mutationUse = new Map<string, number>();
  const slowest: CampaignResult["slowest"] = {};
  const slowCases: CampaignResult["slowCases"] = [];
  let canaries = 0;
  let canaryFailures = 0;
  const sinceCanary: FuzzInput[] = [];
  const files = await FindingFiles.open(options.outDir, seed);
  const recorder = new CrashRecorder(host, history, files, options);

  const record = async (finding: Finding) => {
    const stat = stats[finding.input.target];
    if (finding.kind === "timeout") stat.timeouts++;
    else stat.crashes++;
    await recorder.record(finding);
  };

  /** Counts one outcome and records it when it is a finding or slow. */
  async function judge(input: FuzzInput, label: string, outcome: RunOutcome): Promise<void> {
    const t = input.target;
    const stat = stats[t];
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
        const signature = kind === "state" ? stateSignatureOf(t, outcome) : signatureOf(kind, outcome.error, input);
        await record({ kind, signature, input, ms, ...(outcome.error ? { error: outcome.error } : {}), ...(outcome.detail ? { detail: outcome.detail } : {}) });
      }
      if (outcome.verdict !== "crash" && ms >= slowMs) {
        stat.slow++;
        if (slowCases.length < 20) {
          const file = await files.save(input, "slow", { ms: Math.round(ms * 10) / 10, verdict: outcome.verdict, status: outcome.status, code: outcome.code, rssMbPeakDuringInput: Math.round(host.inputPeakRss / MB) });
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
  }

  const seedProblems = await checkSeeds(host, seeds);
  await host.restart(); // the fuzzing starts on a worker that has seen nothing, so its history is complete
  host.restarts = 0;

  const started = performance.now();
  const deadline = started + seconds * 1000;
  let lastProgress = started;
  let iteration = 0;
  console.error(`[fuzz] seed ${seed}, target ${target}, ${seconds} s, ${seeds.length} seeds, worker ready in ${startMs.toFixed(0)} ms`);

  while (performance.now() < deadline && iteration < iterations) {
    const input = generate(rng, iteration, targets[iteration % targets.length]!, seeds);
    iteration++;
    for (const m of input.mutations) {
      const name = m.split(/[ @]/)[0]!;
      mutationUse.set(name, (mutationUse.get(name) ?? 0) + 1);
    }
    const label = labelOf(input);
    stats[input.target].inputs++;
    sinceCanary.push(input);
    history.push(input);
    await judge(input, label, await host.run(input, label));

    while (escapes.length > 0) {
      const escape = escapes.shift()!;
      await record({ kind: `late-${escape.error.origin}`, signature: signatureOf(`late-${escape.error.origin}`, escape.error, input), input, ms: 0, error: escape.error });
    }

    if (iteration % canaryEvery === 0) {
      canaries++;
      const canary = await host.canary();
      if (!canary.ok) {
        canaryFailures++;
        const batch = await files.saveCanaryBatch(iteration, canary.detail, sinceCanary);
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
  return {
    targets,
    seedProblems,
    ran,
    codeAtStart,
    codeAtEnd: codeVersion(),
    stats,
    slowest,
    slowCases,
    signatures: recorder.signatures,
    canaries,
    canaryFailures,
    mutationUse,
  };
}
