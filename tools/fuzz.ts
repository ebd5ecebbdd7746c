/**
 * Mutation fuzzer for the two parsers that read what clients send: the multipart form parser
 * (`parseImageUpload`) and the image entry point (`preprocessImage`: header checks, JPEG/PNG decoding,
 * downscale, tensor), driven in-process with mutated seeds.
 * Options: `npm run fuzz -- --help`; `npm run fuzz -- --replay fuzz-findings/<finding>.json` runs one saved
 * input again, in a fresh worker.
 *
 * Seeds: forms built with imageForm from the X-ray fixtures, the raw fixture JPEGs, small JPEGs made from a
 * fixture with sharp, small PNGs made with pngjs, and hand-written forms no browser would send; for --target
 * dicom, small DICOM files in every transfer syntax read (test/fixtures/dicom/small and tools/support/dicom-writer.ts).
 * DICOM mutations: element lengths (lying, undefined), Rows/Columns and bit attributes, fragment lengths and
 * truncation, codec frame headers declaring large sizes (bombs), deeply nested undefined-length sequences, and
 * the transfer syntax swapped. Other mutations:
 * bit flips, byte insert/delete, chunk duplication, truncation, splicing two seeds, "interesting" values
 * (0x00, 0xFF, 0x7F, 0x80, boundaries, big 16/32-bit lengths) written over JPEG segment lengths, SOF fields,
 * PNG chunk lengths and IHDR fields, and boundary / part-header / Content-Type tampering for forms.
 *
 * Every input runs in a worker thread (resourceLimits caps its V8 heap) under a time cap: a hang is ended
 * by terminating the worker, never waited out. The process RSS is sampled while each input runs, since
 * decoded pixels live in Buffers and WebAssembly memory outside the V8 heap. An outcome is fine when the
 * call resolves with a sane result or rejects with an ApiError of status 400-499; anything else
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
 * Exit code 1 when a crash was found, 2 for a usage error.
 */
import { parseCommandLine } from "../bin/cli/command-line.js";
import { defaultModelDir, readManifest } from "../lambda/core/model/manifest.js";
import { IMAGE_LIMITS } from "../lambda/core/limits.js";
import { runCampaign } from "./fuzz/campaign.js";
import type { CampaignOptions, Escape } from "./fuzz/campaign.js";
import { InputHistory } from "./fuzz/input-history.js";
import type { Target } from "./fuzz/protocol.js";
import { replay } from "./fuzz/replay.js";
import { buildSeeds } from "./fuzz/seeds.js";
import { exitCodeOf, formatSummary } from "./fuzz/summary.js";
import { WorkerHost } from "./fuzz/worker-host.js";

const TARGETS = ["multipart", "image", "dicom", "both"] as const;

const commandLine = parseCommandLine({
  command: "npm run fuzz --",
  summary:
    "Mutates real forms and images and drives the multipart parser and the image entry point with them in a worker thread " +
    "under a time and heap cap; saves every crash, hang or broken invariant under --out.",
  options: {
    seconds: { type: "string", value: "S", default: "60", doc: "how long to run" },
    seed: { type: "string", value: "N", doc: "seed of the input sequence, 0 to 4294967295 (default: from the clock)" },
    target: { type: "string", value: TARGETS.join("|"), default: "both", doc: "the parser(s) to drive: both is multipart and image (JPEG/PNG); dicom drives the image entry point with DICOM files" },
    iterations: { type: "string", value: "N", doc: "stop after N inputs; with --seed, a run exactly repeatable" },
    "timeout-ms": { type: "string", value: "MS", doc: "an input running longer is a hang (default 2000; 8000 with --target dicom, whose codec thread ends a stuck decoder only after 3 s)" },
    "slow-ms": { type: "string", value: "MS", default: "500", doc: "an input running longer is reported as slow" },
    "max-old-mb": { type: "string", value: "MB", default: "512", doc: "V8 heap cap of the worker" },
    "max-rss-mb": { type: "string", value: "MB", default: "1536", doc: "process RSS above which an input is a crash" },
    "canary-every": { type: "string", value: "N", default: "250", doc: "check known-good images still decode the same every N inputs" },
    "max-per-signature": { type: "string", value: "N", default: "3", doc: "findings saved per kind of crash" },
    "state-repeats": { type: "string", value: "N", default: "300", doc: "re-runs of an input that left the decoder broken" },
    out: { type: "string", value: "DIR", default: "fuzz-findings", doc: "where findings are saved" },
    replay: { type: "string", value: "FILE", doc: "run one saved finding again, in a fresh worker, and exit" },
  },
});
const { values } = commandLine;
const target = values.target;
if (!(TARGETS as readonly string[]).includes(target)) commandLine.fail(`--target must be one of ${TARGETS.join(", ")}, not "${target}"`);
/**
 * A hang is an input running past this. A DICOM frame's third-party codec runs on a thread that is ended after
 * the frame's decode budget (IMAGE_LIMITS.compressedDicomDecodeMs: 3 s for the seeds' small frames), then
 * restarted; the fuzzer must wait longer than that, or it reports the service's own bound as a hang.
 */
function defaultTimeoutMs(target: string): number {
  return target === "dicom" ? IMAGE_LIMITS.compressedDicomDecodeMs.base + 5000 : 2000;
}

const options: CampaignOptions & { maxOldMb: number } = {
  target: target as Target | "both",
  seconds: commandLine.number("seconds", { min: 1, max: 7 * 86_400, integer: false }),
  seed: values.seed !== undefined ? commandLine.number("seed", { min: 0, max: 2 ** 32 - 1 }) : (Date.now() ^ process.pid) >>> 0,
  iterations: values.iterations !== undefined ? commandLine.number("iterations", { min: 1, max: Number.MAX_SAFE_INTEGER }) : Infinity,
  timeoutMs: values["timeout-ms"] !== undefined ? commandLine.number("timeout-ms", { min: 1, max: 600_000 }) : defaultTimeoutMs(target),
  slowMs: commandLine.number("slow-ms", { min: 1, max: 600_000 }),
  maxOldMb: commandLine.number("max-old-mb", { min: 16, max: 65_536 }),
  maxRssMb: commandLine.number("max-rss-mb", { min: 64, max: 1_048_576 }),
  canaryEvery: commandLine.number("canary-every", { min: 1, max: 1_000_000 }),
  maxPerSignature: commandLine.number("max-per-signature", { min: 1, max: 1_000_000 }),
  stateRepeats: commandLine.number("state-repeats", { min: 1, max: 1_000_000 }),
  outDir: values.out,
};
const spec = (await readManifest(defaultModelDir())).input.preprocessing;
const { seeds, ...canaries } = await buildSeeds();

const escapes: Escape[] = [];
const history = new InputHistory();
const host = new WorkerHost({
  timeoutMs: options.timeoutMs,
  maxOldMb: options.maxOldMb,
  maxRssMb: options.maxRssMb,
  data: { spec, ...canaries },
  onEscape: (afterId, error) => escapes.push({ afterId, error }),
  onStart: () => history.clear(),
});
const startMs = await host.start();

if (values.replay) {
  await replay(host, values.replay, options.timeoutMs);
  await host.close();
} else {
  const result = await runCampaign(options, host, seeds, history, escapes, startMs);
  await host.close();
  console.log(formatSummary(options, seeds.length, result, host));
  process.exitCode = exitCodeOf(result);
}
