/**
 * Stage-by-stage speed of the classifier on the full-resolution originals, beside jimp's default decoder and
 * sharp (libvips), plus cold start and peak RSS. Prints Markdown. Options: `npm run bench -- --help`.
 */
import { spawn } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { createJimp } from "@jimp/core";
import jpegJs from "@jimp/js-jpeg";
import { methods as resizeMethods } from "@jimp/plugin-resize";
import sharp from "sharp";
import { readImageHeader } from "../lambda/core/model/image-header.js";
import { preprocessImage } from "../lambda/core/model/preprocess.js";
import { downscaleGrey } from "../lambda/core/model/area-downscale.js";
import { decodeGreyScaled } from "../lambda/core/model/libjpeg-turbo/scaled-jpeg-decoder.js";
import { jpegDecodeSize } from "../lambda/core/model/scaled-jpeg-format.js";
import { greyToTensor } from "../lambda/core/model/grey-tensor.js";
import { parseImageUpload } from "../lambda/core/http/multipart.js";
import { inProcessModel } from "../lambda/core/model/in-process-model.js";
import { OodGate } from "../lambda/core/model/ood-gate.js";
import { defaultModelDir } from "../lambda/core/model/manifest.js";
import { handler } from "../lambda/handler.js";
import type { ProxyHandler } from "../lambda/adapters/api-gateway-event.js";
import { restApiEvent, lambdaContext } from "./support/api-gateway-events.js";
import { imageForm } from "./support/forms.js";
import { quantile, timeRounds } from "./run-report.js";
import { parseCommandLine } from "../bin/cli/command-line.js";

const commandLine = parseCommandLine({
  command: "npm run bench --",
  summary:
    "Times each stage of the classifier (parse, decode, resize, normalise, infer, whole handler) on full-resolution X-rays, " +
    "beside jimp's default decoder and sharp, then the cold start, the first request after init and the peak RSS of the Lambda bundle (npm run bench builds it first).",
  options: {
    data: { type: "string", value: "DIR", default: "../shared/data/originals", doc: "NORMAL/ and PNEUMONIA/ folders of X-rays" },
    rounds: { type: "string", value: "N", default: "3", doc: "timed passes over every image, after one warm-up pass" },
  },
});
const { values } = commandLine;

/**
 * sharp as it is usually called, and sharp doing the model's work: the originals carry a grey ICC profile, which
 * sharp applies by default (about 13 levels brighter, and slower) and the model's path ignores.
 */
const SHARP = "sharp (libvips): decode + grey + resize to the model input";
const SHARP_IGNORE_ICC = "sharp, ignoreIcc (the grey the model sees): decode + grey + resize to the model input";

const JimpDefault = createJimp({ formats: [jpegJs], plugins: [resizeMethods] });

async function loadImages(root: string): Promise<Buffer[]> {
  const images = [];
  for (const label of ["NORMAL", "PNEUMONIA"]) {
    for (const name of (await readdir(join(root, label))).sort()) images.push(await readFile(join(root, label, name)));
  }
  return images;
}

const row = (name: string, sorted: number[]) => `| ${name} | ${quantile(sorted, 0.5).toFixed(1)} | ${quantile(sorted, 0.99).toFixed(1)} |`;

/**
 * Spawns a fresh Node process that imports the Lambda bundle and answers one event, `pauseMs` after the import:
 * ms from the spawn to the answer, the handler's own ms for that first event, and the process's peak RSS.
 */
async function coldStart(pauseMs = 0): Promise<{ ms: number; firstEventMs: number; rssMb: number }> {
  const script = `
    const { handler } = await import(${JSON.stringify(join(process.cwd(), "dist/lambda/index.mjs"))});
    const event = JSON.parse(await (await import("node:fs/promises")).readFile("events/rest-api-classify.json", "utf8"));
    await new Promise((resolve) => setTimeout(resolve, ${pauseMs}));
    const started = performance.now();
    const result = await handler(event, { awsRequestId: "cold-start" });
    const firstEventMs = performance.now() - started;
    if (result.statusCode !== 200) throw new Error("status " + result.statusCode);
    // VmHWM, not resourceUsage().maxRSS: Linux carries maxRSS across exec from the forking parent.
    const hwm = (await import("node:fs")).readFileSync("/proc/self/status", "utf8").match(/VmHWM:\\s+(\\d+) kB/)[1];
    console.log(JSON.stringify({ firstEventMs, rssMb: Number(hwm) / 1024 }));`;
  const started = performance.now();
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], { env: { ...process.env, POWERTOOLS_LOG_LEVEL: "SILENT" } });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk));
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  const ms = performance.now() - started - pauseMs;
  if (code !== 0) throw new Error(`cold start failed: ${output}`);
  return { ms, ...(JSON.parse(output.trim().split("\n").at(-1)!) as { firstEventMs: number; rssMb: number }) };
}

const rounds = commandLine.number("rounds", { min: 1, max: 1000 });
// The handler as esbuild bundles it, beside the source that tsx runs (as npm start does): tsx's loader hooks make
// every dynamic import() slower, and jimp makes one per image.
const { handler: bundledHandler } = (await import(join(process.cwd(), "dist/lambda/index.mjs"))) as { handler: ProxyHandler };
const images = await loadImages(values.data);
const model = await inProcessModel();
const spec = model.manifest.input.preprocessing;
const { width, height } = spec;
const headers = images.map((image) => readImageHeader(image));
// The originals are upright JPEGs, which preprocessing decodes straight to grey (no jimp bitmap).
const decode = (image: Uint8Array) => decodeGreyScaled(image, jpegDecodeSize(spec));
const decoded = images.map(decode);
const greys = decoded.map((grey) => downscaleGrey(grey.data, grey.width, grey.height, width, height));
const forms = await Promise.all(images.map((image) => imageForm(image)));
const events = forms.map(({ body, contentType }) => restApiEvent({ body, headers: { "content-type": contentType } }));
const pixels = headers.map((h) => h.width * h.height).sort((a, b) => a - b);
const gate = model.manifest.gate && (await OodGate.load(defaultModelDir(), model.manifest.gate));
// The gate's cost does not depend on the values: one triangular matrix-vector product whatever the image.
const features = new Float32Array(model.manifest.gate?.dimensions ?? 0).map((_, i) => Math.sin(i));

const stages = {
  "parse (multipart)": await timeRounds(forms, rounds, (f) => parseImageUpload(f.body, f.contentType)),
  "decode (libjpeg-turbo wasm, grey at 1/N)": await timeRounds(images, rounds, decode),
  "resize (area average of the grey)": await timeRounds(decoded, rounds, (grey) => downscaleGrey(grey.data, grey.width, grey.height, width, height)),
  "normalise (equalise, standardise)": await timeRounds(greys, rounds, (grey) => greyToTensor(grey, spec)),
  "infer (ONNX, batch of 1, with the gate)": await timeRounds(greys, rounds, (grey) => model.classify(greyToTensor(grey, spec))),
  ...(gate && { [`gate alone (Mahalanobis distance over ${features.length} features)`]: await timeRounds(greys, rounds, () => gate.judge(features)) }),
  "preprocess total (header + decode + resize + normalise)": await timeRounds(images, rounds, (image) => preprocessImage(image, spec)),
  "whole handler (REST event in, answer out)": await timeRounds(events, rounds, (event) => handler(event, lambdaContext)),
  "whole handler, the Lambda bundle (as Lambda runs it: no tsx)": await timeRounds(events, rounds, (event) => bundledHandler(event, lambdaContext)),
  "jimp default: jpeg-js decode + resize to the model input": await timeRounds(images, rounds, async (image) => {
    (await JimpDefault.fromBuffer(image)).resize({ w: width, h: height });
  }),
  [SHARP]: await timeRounds(images, rounds, (image) => sharp(image).greyscale().resize(width, height, { fit: "fill" }).raw().toBuffer()),
  [SHARP_IGNORE_ICC]: await timeRounds(images, rounds, (image) =>
    sharp(image, { ignoreIcc: true }).greyscale().resize(width, height, { fit: "fill" }).raw().toBuffer(),
  ),
};

const cold = [];
for (let i = 0; i < 3; i++) cold.push(await coldStart());
const coldMs = cold.map((c) => c.ms).sort((a, b) => a - b);
// npm start's first request, or a Lambda environment whose init had finished: the model and the warm-up are done.
const afterInit = [];
for (let i = 0; i < 3; i++) afterInit.push((await coldStart(1000)).firstEventMs);

console.log(`${images.length} images from ${values.data} (median ${(quantile(pixels, 0.5) / 1e6).toFixed(2)} MP), ${rounds} rounds after a warm-up pass, ` +
  `Node ${process.version}, model ${model.manifest.name} ${model.manifest.version}, ${model.executionProviders.join(",")}\n`);
console.log("| stage | p50 ms | p99 ms |\n|---|---|---|");
for (const [name, times] of Object.entries(stages)) console.log(row(name, times));
const preprocessP50 = quantile(stages["preprocess total (header + decode + resize + normalise)"], 0.5);
console.log(`\nPreprocessing p50 / sharp p50: ${(preprocessP50 / quantile(stages[SHARP_IGNORE_ICC], 0.5)).toFixed(2)} against sharp ignoring the ICC profile ` +
  `(the target's reference: the same grey pixels as ours), ${(preprocessP50 / quantile(stages[SHARP], 0.5)).toFixed(2)} against sharp applying it`);
console.log(`Cold start (spawn node, import dist/lambda/index.mjs, load model, answer one event), 3 runs: ` +
  `${coldMs.map((ms) => ms.toFixed(0)).join(", ")} ms; peak RSS of that process ${Math.max(...cold.map((c) => c.rssMb)).toFixed(0)} MB`);
console.log(`First request 1 s after the import (the handler's time for one event in a fresh process), 3 runs: ` +
  `${afterInit.sort((a, b) => a - b).map((ms) => ms.toFixed(0)).join(", ")} ms`);
console.log(`Peak RSS of this benchmark process: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
