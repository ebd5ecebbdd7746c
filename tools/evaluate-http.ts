/**
 * Measures the served model over real HTTP: posts every image of a Kaggle-layout folder to a running
 * API (`npm start`) and prints accuracy, AUC, sensitivity, specificity and the confusion matrix.
 *
 *   npm run evaluate -- --url http://127.0.0.1:3000 --data ../shared/data/chest_xray/dev [--card models/pneumonia-cnn/MODEL_CARD.md]
 *
 * With --card, the figures also replace the card's served-metrics section.
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { replaceCardSection } from "./model-card-section.js";

const { values } = parseArgs({
  options: {
    url: { type: "string", default: "http://127.0.0.1:3000" },
    data: { type: "string", default: "../shared/data/chest_xray/dev" },
    "api-key": { type: "string" },
    card: { type: "string" },
  },
});

interface Scored {
  label: "NORMAL" | "PNEUMONIA";
  prediction: string;
  pneumonia: number;
}

/** Area under the ROC curve: the probability a random PNEUMONIA image outscores a random NORMAL one, ties half. */
function rocAuc(scored: Scored[]): number {
  const positives = scored.filter((s) => s.label === "PNEUMONIA").map((s) => s.pneumonia);
  const negatives = scored.filter((s) => s.label === "NORMAL").map((s) => s.pneumonia);
  let wins = 0;
  for (const p of positives) for (const n of negatives) wins += p > n ? 1 : p === n ? 0.5 : 0;
  return wins / (positives.length * negatives.length);
}

async function classify(path: string, name: string) {
  const form = new FormData();
  form.append("file", new Blob([await readFile(path)], { type: "image/jpeg" }), name);
  const headers: Record<string, string> = values["api-key"] ? { "x-api-key": values["api-key"] } : {};
  const response = await fetch(`${values.url}/pneumonia_classifier`, { method: "POST", body: form, headers });
  const body = await response.json();
  if (response.status !== 200) throw new Error(`${name}: ${response.status} ${JSON.stringify(body)}`);
  return body as { prediction: string; probabilities: { PNEUMONIA: number } };
}

const scored: Scored[] = [];
const started = performance.now();
for (const label of ["NORMAL", "PNEUMONIA"] as const) {
  for (const name of (await readdir(join(values.data!, label))).sort()) {
    const answer = await classify(join(values.data!, label, name), name);
    scored.push({ label, prediction: answer.prediction, pneumonia: answer.probabilities.PNEUMONIA });
  }
}
const count = (label: string, prediction: string) => scored.filter((s) => s.label === label && s.prediction === prediction).length;
const [tp, tn, fp, fn] = [count("PNEUMONIA", "PNEUMONIA"), count("NORMAL", "NORMAL"), count("NORMAL", "PNEUMONIA"), count("PNEUMONIA", "NORMAL")];
const auc = rocAuc(scored);
const seconds = ((performance.now() - started) / 1000).toFixed(1);
const report = [
  `Measured over real HTTP against \`npm start\` (${values.url}), the served preprocessing and model, on ${scored.length} images of \`${values.data}\` in ${seconds} s:`,
  "",
  "| images | accuracy | AUC | sensitivity | specificity |",
  "|---|---|---|---|---|",
  `| ${scored.length} | ${((tp + tn) / scored.length).toFixed(3)} | ${auc.toFixed(3)} | ${(tp / (tp + fn)).toFixed(3)} | ${(tn / (tn + fp)).toFixed(3)} |`,
  "",
  "| | predicted NORMAL | predicted PNEUMONIA |",
  "|---|---|---|",
  `| NORMAL | ${tn} | ${fp} |`,
  `| PNEUMONIA | ${fn} | ${tp} |`,
  "",
  `Command: \`npm start\`, then \`npm run evaluate -- --data ${values.data}\`.`,
].join("\n");
console.log(report);
if (values.card) await replaceCardSection(values.card, "served-metrics", report);
