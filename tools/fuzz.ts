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
import { parseArgs } from "node:util";
import { defaultModelDir, readManifest } from "../lambda/core/model/manifest.js";
import { runCampaign } from "./fuzz/campaign.js";
import type { CampaignOptions, Escape } from "./fuzz/campaign.js";
import { InputHistory } from "./fuzz/input-history.js";
import type { Target } from "./fuzz/protocol.js";
import { replay } from "./fuzz/replay.js";
import { buildSeeds } from "./fuzz/seeds.js";
import { exitCodeOf, formatSummary } from "./fuzz/summary.js";
import { WorkerHost } from "./fuzz/worker-host.js";

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
const options: CampaignOptions & { maxOldMb: number } = {
  target: target as Target | "both",
  seconds: Number(values.seconds),
  seed: values.seed !== undefined ? Number(values.seed) >>> 0 : (Date.now() ^ process.pid) >>> 0,
  iterations: values.iterations !== undefined ? Number(values.iterations) : Infinity,
  timeoutMs: Number(values["timeout-ms"]),
  slowMs: Number(values["slow-ms"]),
  maxOldMb: Number(values["max-old-mb"]),
  maxRssMb: Number(values["max-rss-mb"]),
  canaryEvery: Number(values["canary-every"]),
  maxPerSignature: Number(values["max-per-signature"]),
  stateRepeats: Number(values["state-repeats"]),
  outDir: values.out!,
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
