/**
 * Single-image inference time of the served model, on one thread, as the model card reports it.
 *
 *   npm run bench:inference [-- --card models/pneumonia-cnn/MODEL_CARD.md]
 *
 * With --card, the figures also replace the card's inference-time section.
 */
import { OnnxModel as Classifier } from "../lambda/core/model/onnx-model.js";
import { defaultModelDir } from "../lambda/core/model/manifest.js";
import { replaceCardSection } from "./model-card-section.js";
import { parseArgs } from "node:util";
import { cpus } from "node:os";

const { values } = parseArgs({ options: { card: { type: "string" } } });

const RUNS = 500;
const classifier = await Classifier.load(defaultModelDir(), { threads: 1 });
const input = new Float32Array(classifier.inputSize).map((_, i) => Math.sin(i));
for (let i = 0; i < 50; i++) await classifier.classify(input);
const times: number[] = [];
for (let i = 0; i < RUNS; i++) {
  const started = performance.now();
  await classifier.classify(input);
  times.push(performance.now() - started);
}
times.sort((a, b) => a - b);
const at = (q: number) => times[Math.min(RUNS - 1, Math.floor(q * RUNS))]!.toFixed(2);
const report =
  `Single-image inference of ${classifier.manifest.name} ${classifier.manifest.version} with onnxruntime-node on 1 thread ` +
  `(${cpus()[0]?.model ?? "unknown CPU"}), ${RUNS} runs after 50 warm-up runs: p50 ${at(0.5)} ms, p99 ${at(0.99)} ms. ` +
  "Command: `npm run bench:inference`.";
console.log(report);
if (values.card) await replaceCardSection(values.card, "inference-time", report);
