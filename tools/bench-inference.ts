/**
 * Single-image inference time of the served model, on one thread, as the model card reports it, and what
 * explain=true adds to it (the map fetched, put on its scale and encoded as the answer's PNG).
 * Options: `npm run bench:inference -- --help`. With --card, the figures also replace the card's
 * inference-time section.
 */
import { OnnxModel } from "../lambda/core/model/onnx-model.js";
import { defaultModelDir } from "../lambda/core/model/manifest.js";
import { replaceCardSection } from "./model-card-section.js";
import { parseCommandLine } from "../bin/cli/command-line.js";
import { cpus } from "node:os";
import { explanationOf } from "../lambda/core/model/explanation.js";
import { quantile } from "./run-report.js";

const { values } = parseCommandLine({
  command: "npm run bench:inference --",
  summary: "Times single-image inference of the served model with onnxruntime-node on one thread: 500 runs after 50 warm-up runs, no preprocessing; then the same with explain=true (map and PNG), the two interleaved.",
  options: {
    card: { type: "string", value: "FILE", doc: "also write the figures into this model card's inference-time section" },
  },
});

const RUNS = 500;
const model = await OnnxModel.load(defaultModelDir(), { threads: 1 });
const { explanation } = model.manifest;
const input = new Float32Array(model.inputSize).map((_, i) => Math.sin(i));
const plain = () => model.classify(input);
/** What explain=true asks of the model and the host: the map fetched, then drawn as the answer's PNG. */
const explained = async () => explanationOf((await model.classify(input, true)).cam!, explanation!);
for (let i = 0; i < 50; i++) await Promise.all([plain(), explanation && explained()]);
const times = { plain: [] as number[], explained: [] as number[] };
// Interleaved, so both see the same load on a shared machine.
for (let i = 0; i < RUNS; i++) {
  for (const [name, run] of [["plain", plain], ...(explanation ? [["explained", explained] as const] : [])] as const) {
    const started = performance.now();
    await run();
    times[name].push(performance.now() - started);
  }
}
const at = (name: keyof typeof times, q: number) => quantile(times[name], q).toFixed(2);
const explainedWords = explanation
  ? ` With explain=true (the map fetched, put on its scale and encoded as an 8-bit grey PNG): p50 ${at("explained", 0.5)} ms, p99 ${at("explained", 0.99)} ms, ` +
    `${(quantile(times.explained, 0.5) - quantile(times.plain, 0.5)).toFixed(2)} ms more at p50 (the two interleaved).`
  : "";
const report =
  `Single-image inference of ${model.manifest.name} ${model.manifest.version} with onnxruntime-node on 1 thread ` +
  `(${cpus()[0]?.model ?? "unknown CPU"}), ${RUNS} runs after 50 warm-up runs: p50 ${at("plain", 0.5)} ms, p99 ${at("plain", 0.99)} ms.${explainedWords} ` +
  "Command: `npm run bench:inference`.";
console.log(report);
if (values.card) await replaceCardSection(values.card, "inference-time", report);
