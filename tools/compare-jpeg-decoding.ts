/**
 * What the shrink-on-load JPEG decoder changed in the model's inputs and answers: every JPEG under the given
 * folders through the service's preprocessImage (libjpeg-turbo at 1/N, lambda/core/model/scaled-jpeg-format.ts)
 * and through the path it replaced (MozJPEG at full size, tools/support/mozjpeg-format.ts, then the same header
 * checks, EXIF orientation, area downscale and normalisation), both classified by the served model. Prints
 * Markdown: per folder, the scales chosen, the images one path refuses and the other does not, how many tensors
 * are bit-identical, the mean and largest |difference| of tensor values and of P(PNEUMONIA), and the answers
 * that changed, each named. Options: `node --import tsx tools/compare-jpeg-decoding.ts --help`.
 */
import { readFile } from "node:fs/promises";
import { relative } from "node:path";
import { createJimp } from "@jimp/core";
import png from "@jimp/js-png";
import { glob } from "tinyglobby";
import { parseCommandLine } from "../bin/cli/command-line.js";
import { inProcessModel } from "../lambda/core/model/in-process-model.js";
import { preprocessImage } from "../lambda/core/model/preprocess.js";
import { readImageHeader } from "../lambda/core/model/image-header.js";
import { downscaleToGrey } from "../lambda/core/model/area-downscale.js";
import { greyToTensor } from "../lambda/core/model/grey-tensor.js";
import { jpegDecodeSize } from "../lambda/core/model/scaled-jpeg-format.js";
import { readJpegHeader, scaleFor } from "../lambda/core/model/libjpeg-turbo/scaled-jpeg-decoder.js";
import type { PreprocessingSpec } from "../lambda/core/model/preprocessing-spec.js";
import mozjpeg from "./support/mozjpeg-format.js";

const commandLine = parseCommandLine({
  command: "node --import tsx tools/compare-jpeg-decoding.ts",
  summary:
    "Runs every JPEG under the folders through today's preprocessing (libjpeg-turbo at 1/N) and through the MozJPEG full-size " +
    "decode it replaced, and prints how far the model's inputs and answers moved.",
  operands: "FOLDER...",
  options: {},
});
if (commandLine.positionals.length === 0) commandLine.fail("name at least one folder of JPEGs");

/** The replaced path's decoder: MozJPEG for JPEG (PNG never changed), as lambda/core/model/preprocess.ts had it. */
const BeforeJimp = createJimp({ formats: [mozjpeg, png] });

/** The replaced preprocessing, step for step; refusals are returned as a string. */
async function tensorBefore(bytes: Buffer, spec: PreprocessingSpec): Promise<Float32Array | string> {
  try {
    readImageHeader(bytes);
    const { bitmap } = await BeforeJimp.fromBuffer(bytes);
    return greyToTensor(downscaleToGrey(bitmap.data, bitmap.width, bitmap.height, spec.width, spec.height), spec);
  } catch (error) {
    return String((error as Error).message);
  }
}

async function tensorNow(bytes: Buffer, spec: PreprocessingSpec): Promise<Float32Array | string> {
  try {
    return (await preprocessImage(bytes, spec)).tensor;
  } catch (error) {
    return String((error as Error).message);
  }
}

const model = await inProcessModel();
const spec = model.manifest.input.preprocessing;
const size = jpegDecodeSize(spec);
const answer = async (tensor: Float32Array) => {
  const { prediction, probabilities } = await model.classify(tensor);
  return { prediction, pneumonia: probabilities.PNEUMONIA };
};
const number = (value: number, digits: number) => (Number.isFinite(value) ? value.toFixed(digits) : "-");

console.log(`Model ${model.manifest.name} ${model.manifest.version}, input ${spec.width}x${spec.height}; JPEGs decoded to at least ${size.minWidth}x${size.minHeight}.\n`);
console.log(
  "| folder | JPEGs | scales (1/N: images) | refused before | refused now | tensors bit-identical | " +
    "mean / max abs. tensor difference | mean / max abs. P(PNEUMONIA) difference | answers changed |\n|---|---|---|---|---|---|---|---|---|",
);
const notes: string[] = [];
for (const folder of commandLine.positionals) {
  const files = (await glob(["**/*.jpeg", "**/*.jpg"], { cwd: folder, absolute: true, caseSensitiveMatch: false })).sort();
  const scales = new Map<number, number>();
  const refused = { before: 0, now: 0 };
  let identical = 0;
  let compared = 0;
  let tensorSum = 0;
  let tensorValues = 0;
  let tensorMax = 0;
  const probabilityDifferences: number[] = [];
  let changed = 0;
  for (const file of files) {
    const name = relative(folder, file);
    const bytes = await readFile(file);
    const [before, now] = await Promise.all([tensorBefore(bytes, spec), tensorNow(bytes, spec)]);
    if (typeof before === "string" || typeof now === "string") {
      if (typeof before === "string") refused.before++;
      if (typeof now === "string") refused.now++;
      if (typeof before !== typeof now) notes.push(`- ${folder}/${name}: before ${typeof before === "string" ? `refused (${before})` : "answered"}, now ${typeof now === "string" ? `refused (${now})` : "answered"}`);
      continue;
    }
    const { width, height } = readJpegHeader(bytes);
    const scale = scaleFor(width, height, size.minWidth, size.minHeight);
    scales.set(scale, (scales.get(scale) ?? 0) + 1);
    compared++;
    let same = true;
    for (let i = 0; i < now.length; i++) {
      const difference = Math.abs(now[i]! - before[i]!);
      if (difference !== 0) same = false;
      tensorSum += difference;
      tensorMax = Math.max(tensorMax, difference);
    }
    tensorValues += now.length;
    if (same) identical++;
    const [was, is] = [await answer(before), await answer(now)];
    probabilityDifferences.push(Math.abs(is.pneumonia - was.pneumonia));
    if (was.prediction !== is.prediction) {
      changed++;
      notes.push(`- ${folder}/${name}: ${was.prediction} (P(PNEUMONIA) ${was.pneumonia.toFixed(4)}) before, ${is.prediction} (${is.pneumonia.toFixed(4)}) now, decoded at 1/${scale}`);
    }
  }
  const meanProbability = probabilityDifferences.reduce((sum, d) => sum + d, 0) / probabilityDifferences.length;
  console.log(
    `| ${folder} | ${files.length} | ${[...scales].sort(([a], [b]) => a - b).map(([scale, n]) => `1/${scale}: ${n}`).join(", ")} | ${refused.before} | ${refused.now} | ` +
      `${identical} of ${compared} | ${number(tensorSum / tensorValues, 5)} / ${number(tensorMax, 4)} | ` +
      `${number(meanProbability, 5)} / ${number(Math.max(...probabilityDifferences), 4)} | ${changed} |`,
  );
}
if (notes.length > 0) console.log(`\n${notes.join("\n")}`);
