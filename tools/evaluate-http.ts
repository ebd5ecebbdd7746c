/**
 * Measures the served model over real HTTP: posts every image of a Kaggle-layout folder (NORMAL/ and
 * PNEUMONIA/) to a running API (`npm start`) and prints accuracy, AUC, sensitivity, specificity, the expected
 * calibration error and the confusion matrix. Options: `npm run evaluate -- --help`. With --card, the figures also replace the card's
 * served-metrics section.
 *
 * An image the out-of-distribution gate refuses (422 NOT_A_CHEST_XRAY) is counted and named, and left out of
 * the figures. Exit code 1 when the server cannot be reached or answers an image with anything else but 200,
 * 2 for a usage error.
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseCommandLine } from "../bin/cli/command-line.js";
import { replaceCardSection } from "./model-card-section.js";

const LABELS = ["NORMAL", "PNEUMONIA"] as const;

const commandLine = parseCommandLine({
  command: "npm run evaluate --",
  summary: "Posts every image of DATA/NORMAL and DATA/PNEUMONIA to a running API (start it first: npm start) and prints accuracy, AUC, sensitivity, specificity, the expected calibration error and the confusion matrix.",
  options: {
    // The URL npm start listens on: PORT as the server reads it, 3000 when unset or empty.
    url: { type: "string", value: "URL", default: `http://127.0.0.1:${process.env.PORT || 3000}`, doc: "the running API; follows PORT as npm start does" },
    data: { type: "string", value: "DATA", default: "../shared/data/chest_xray/dev", doc: "a folder with NORMAL/ and PNEUMONIA/ image folders" },
    "api-key": { type: "string", value: "KEY", doc: "sent as x-api-key, for a deployed API" },
    card: { type: "string", value: "FILE", doc: "also write the figures into this model card's served-metrics section" },
  },
});
const { values } = commandLine;
const base = commandLine.url("url")!.replace(/\/$/, "");
const data = values.data;

/** The images to post, by label; a usage error when DATA is not laid out as NORMAL/ and PNEUMONIA/. */
async function listImages(): Promise<{ label: (typeof LABELS)[number]; name: string }[]> {
  const images = [];
  for (const label of LABELS) {
    const names = await readdir(join(data, label)).catch(() => commandLine.fail(`--data ${data} has no ${label}/ folder: it must hold NORMAL/ and PNEUMONIA/ folders of images`));
    images.push(...names.sort().map((name) => ({ label, name })));
  }
  return images;
}

/** fetch, with a network failure told as one line that names the URL and how to get a server there. */
async function fetchFromServer(url: string, init?: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (error) {
    // fetch says only "fetch failed"; the cause says why (ECONNREFUSED, ENOTFOUND, bad port).
    const cause = (error as Error).cause as { code?: string; message?: string } | undefined;
    const reason = cause?.code ?? cause?.message ?? (error as Error).message;
    throw new Error(`no server answers at ${base} (${reason}): start it with \`npm start\` (it listens on PORT, 3000 when unset), or pass --url`);
  }
}

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

/**
 * Expected calibration error of the PNEUMONIA probability over ten equal-width bins, weighted by their images: as
 * training/metrics.py computes it for the model card.
 */
function expectedCalibrationError(scored: Scored[], bins = 10): number {
  let gap = 0;
  for (let bin = 0; bin < bins; bin++) {
    const inside = scored.filter((s) => Math.min(Math.floor(s.pneumonia * bins), bins - 1) === bin);
    if (inside.length === 0) continue;
    const stated = inside.reduce((sum, s) => sum + s.pneumonia, 0) / inside.length;
    const observed = inside.filter((s) => s.label === "PNEUMONIA").length / inside.length;
    gap += inside.length * Math.abs(stated - observed);
  }
  return gap / scored.length;
}

async function classify(path: string, name: string) {
  const form = new FormData();
  form.append("file", new Blob([await readFile(path)], { type: "image/jpeg" }), name);
  const headers: Record<string, string> = values["api-key"] ? { "x-api-key": values["api-key"] } : {};
  const response = await fetchFromServer(`${base}/pneumonia_classifier`, { method: "POST", body: form, headers });
  const body = await response.text();
  if (response.status === 422 && (JSON.parse(body) as { error?: { code?: string } }).error?.code === "NOT_A_CHEST_XRAY") return undefined;
  if (response.status !== 200) throw new Error(`${base} answered ${name} with ${response.status}: ${body.slice(0, 300)}`);
  return JSON.parse(body) as { prediction: string; probabilities: { PNEUMONIA: number } };
}

async function scoreAll(): Promise<{ scored: Scored[]; refused: string[] }> {
  const images = await listImages();
  // One request before the run, so a missing server is told before anything else.
  await fetchFromServer(`${base}/health`);
  const scored: Scored[] = [];
  const refused: string[] = [];
  for (const { label, name } of images) {
    const answer = await classify(join(data, label, name), name);
    if (answer) scored.push({ label, prediction: answer.prediction, pneumonia: answer.probabilities.PNEUMONIA });
    else refused.push(`${label}/${name}`);
  }
  return { scored, refused };
}

const started = performance.now();
const { scored, refused } = await scoreAll().catch((error: Error) => {
  process.stderr.write(`evaluate: ${error.message}\n`);
  process.exit(1);
});
const count = (label: string, prediction: string) => scored.filter((s) => s.label === label && s.prediction === prediction).length;
const [tp, tn, fp, fn] = [count("PNEUMONIA", "PNEUMONIA"), count("NORMAL", "NORMAL"), count("NORMAL", "PNEUMONIA"), count("PNEUMONIA", "NORMAL")];
const auc = rocAuc(scored);
const seconds = ((performance.now() - started) / 1000).toFixed(1);
const report = [
  `Measured over real HTTP against \`npm start\` (${base}), the served preprocessing and model, on ${scored.length + refused.length} images of \`${data}\` in ${seconds} s:`,
  "",
  ...(refused.length > 0 ? [`The out-of-distribution gate refused ${refused.length} (422 NOT_A_CHEST_XRAY: ${refused.join(", ")}); the figures are those of the ${scored.length} answered.`, ""] : []),
  "| images | accuracy | AUC | sensitivity | specificity | ECE |",
  "|---|---|---|---|---|---|",
  `| ${scored.length} | ${((tp + tn) / scored.length).toFixed(3)} | ${auc.toFixed(3)} | ${(tp / (tp + fn)).toFixed(3)} | ${(tn / (tn + fp)).toFixed(3)} | ${expectedCalibrationError(scored).toFixed(3)} |`,
  "",
  "| | predicted NORMAL | predicted PNEUMONIA |",
  "|---|---|---|",
  `| NORMAL | ${tn} | ${fp} |`,
  `| PNEUMONIA | ${fn} | ${tp} |`,
  "",
  `Command: \`npm start\`, then \`npm run evaluate -- --data ${data}\`.`,
].join("\n");
console.log(report);
if (values.card) await replaceCardSection(values.card, "served-metrics", report);
