/**
 * Single-image inference time of the served model, on one thread, as the model card reports it.
 * Options: `npm run bench:inference -- --help`. With --card, the figures also replace the card's
 * inference-time section.
 */
import { OnnxModel } from "../lambda/core/model/onnx-model.js";
import { defaultModelDir } from "../lambda/core/model/manifest.js";
import { replaceCardSection } from "./model-card-section.js";
import { parseCommandLine } from "../bin/cli/command-line.js";
import { cpus } from "node:os";

const { values } = parseCommandLine({
  command: "npm run bench:inference --",
  summary: "Times single-image inference of the served model with onnxruntime-node on one thread: 500 runs after 50 warm-up runs, no preprocessing.",
  options: {
    card: { type: "string", value: "FILE", doc: "also write the figures into this model card's inference-time section" },
  },
});

const RUNS = 500;
const model = await OnnxModel.load(defaultModelDir(), { threads: 1 });
const input = new Float32Array(model.inputSize).map((_, i) => Math.sin(i));
for (let i = 0; i < 50; i++) await model.classify(input);
const times: number[] = [];
for (let i = 0; i < RUNS; i++) {
  const started = performance.now();
  await model.classify(input);
  times.push(performance.now() - started);
}
times.sort((a, b) => a - b);
const at = (q: number) => times[Math.min(RUNS - 1, Math.floor(q * RUNS))]!.toFixed(2);
const report =
  `Single-image inference of ${model.manifest.name} ${model.manifest.version} with onnxruntime-node on 1 thread ` +
  `(${cpus()[0]?.model ?? "unknown CPU"}), ${RUNS} runs after 50 warm-up runs: p50 ${at(0.5)} ms, p99 ${at(0.99)} ms. ` +
  "Command: `npm run bench:inference`.";
console.log(report);
if (values.card) await replaceCardSection(values.card, "inference-time", report);
