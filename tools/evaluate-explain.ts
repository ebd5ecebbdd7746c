/**
 * Faithfulness of the class activation map (`explain=true`), by the deletion test after Petsiuk et al. 2018: on
 * the PNEUMONIA X-rays of a set that the model calls PNEUMONIA (and the gate accepts), grey out the share of the
 * model input where the map is hottest, and separately the same region shifted to a random place; a map that
 * shows where the evidence is makes the first lower the PNEUMONIA logit much more than the second.
 *
 *   npm run evaluate:explain [-- --data ../shared/data/chest_xray/dev] [--share 0.1] [--seed 1] [--card FILE]
 *
 * Runs the served preprocessing and model in process (the test edits model inputs, which no HTTP client can
 * send). The region is set to mid-grey (the test) and, separately, to black (the usual deletion baseline; an
 * equalised lung field is dark, and mid-grey there looks like the opacity pneumonia is). The shift moves the whole mask by
 * a random (dx, dy), wrapping at the edges, so it keeps its size and shape. Two controls: shifted anywhere (the
 * first versions of this test), and shifted elsewhere, to a place that shares no pixel with the hottest region.
 * A uniform offset leaves the two overlapping about half the time (the report counts it), and a control that greys out part of the
 * hottest region deletes the very evidence it is the control for. The logit is the map's mean, which is the
 * served logit (threshold folded) without the rounding of a probability near 1.
 *
 * It also counts where the maps lie, over the same images, by the frame the explanation tests hold each fixture to
 * (tools/support/map-placement.ts): PNEUMONIA maps whose hottest tenth keeps to the chest, and clear NORMAL X-rays
 * (the set's NORMAL/ folder) whose maps are mostly black. A handful of fixtures cannot tell a model whose maps leave
 * the chest now and then from one whose maps often do.
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseCommandLine } from "../bin/cli/command-line.js";
import { OnnxModel } from "../lambda/core/model/onnx-model.js";
import { defaultModelDir } from "../lambda/core/model/manifest.js";
import { preprocessImage } from "../lambda/core/model/preprocess.js";
import { refusedByGate } from "../lambda/core/model/assert-chest-xray.js";
import { Random } from "./fuzz/random.js";
import { replaceCardSection } from "./model-card-section.js";
import { CHEST_FRAME, CLEAR_NORMAL, WAYS_OUT_OF_CHEST, blackShare, hottestFirst, outsideChest, type OutsideChest } from "./support/map-placement.js";
import { camToGrey } from "../lambda/core/model/explanation.js";

const commandLine = parseCommandLine({
  command: "npm run evaluate:explain --",
  summary: "The deletion test of the class activation map: greys out the hottest share of each PNEUMONIA X-ray the model calls PNEUMONIA, and the same region shifted to a random place, and compares the drops of the PNEUMONIA logit; then counts the maps that keep to the chest, and the clear NORMAL maps that are mostly black.",
  options: {
    data: { type: "string", value: "DIR", default: "../shared/data/chest_xray/dev", doc: "a folder holding PNEUMONIA/ and NORMAL/ (the dev set by default)" },
    share: { type: "string", value: "SHARE", default: "0.1", doc: "the share of the image greyed out" },
    seed: { type: "string", value: "N", default: "1", doc: "seed of the random shifts" },
    card: { type: "string", value: "FILE", doc: "also write the figures into this model card's explain-metrics section" },
  },
});
const { values } = commandLine;
const share = commandLine.number("share", { min: 0.01, max: 0.5, integer: false });
const seed = commandLine.number("seed", { min: 0, max: 2 ** 32 - 1 });
/** Offsets shifted anywhere: the stream the first versions of this test drew from, so their figures reproduce. */
const random = new Random(seed);
/** Offsets shifted elsewhere, from a stream of their own (the number of draws per image varies). */
const clearRandom = new Random(seed ^ 0x5bd1e995);
/**
 * What a deleted region becomes, as a pixel level (0 black, 1 white, after equalisation, before normalisation):
 * mid-grey, the test, and black, the usual deletion baseline.
 */
const FILLS = { grey: 0.5, black: 0 } as const;

/** The indices moved by (dx, dy) on a width x height grid, wrapping at the edges. */
function shifted(indices: Uint32Array, width: number, height: number, dx: number, dy: number): Uint32Array {
  return indices.map((i) => ((Math.floor(i / width) + dy) % height) * width + ((i % width) + dx) % width);
}

/**
 * An offset that moves `indices` to where they share no index with themselves, drawn at random; the least
 * overlapping of `tries` draws if none is clear.
 */
function clearOffset(indices: Uint32Array, tries = 1000): { dx: number; dy: number; overlap: number } {
  const inRegion = new Set(indices);
  let best = { dx: 0, dy: 0, overlap: Infinity };
  for (let t = 0; t < tries && best.overlap > 0; t++) {
    const [dx, dy] = [clearRandom.int(width), clearRandom.int(height)];
    const overlap = shifted(indices, width, height, dx, dy).reduce((n, i) => n + (inRegion.has(i) ? 1 : 0), 0);
    if (overlap < best.overlap) best = { dx, dy, overlap };
  }
  return best;
}

/** The input with the pixels at `indices` set to `value`. */
function filled(tensor: Float32Array, indices: Uint32Array, value: number): Float32Array {
  const copy = tensor.slice();
  for (const i of indices) copy[i] = value;
  return copy;
}

function mean(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i]!;
  return sum / values.length;
}

const model = await OnnxModel.load(defaultModelDir());
const { input } = model.manifest;
const explanation = model.manifest.explanation ?? commandLine.fail(`the model in ${defaultModelDir()} has no class activation map output: run npm run add-cam`);
const { width, height, normalisation } = input.preprocessing;
/** The images of one label's folder of the set, in a fixed order. */
async function imagesOf(label: "NORMAL" | "PNEUMONIA"): Promise<string[]> {
  const folder = join(values.data, label);
  return (await readdir(folder)).filter((file) => /\.(jpe?g|png)$/i.test(file)).sort().map((file) => join(folder, file));
}

/** One image of the set preprocessed and classified with its map. */
async function explained(file: string) {
  const { tensor } = await preprocessImage(await readFile(file), input.preprocessing);
  return { tensor, result: await model.classify(tensor, true) };
}

/** A percentage with one decimal. */
const percent = (part: number, whole: number) => `${((part / whole) * 100).toFixed(1)} %`;

const files = await imagesOf("PNEUMONIA");
/** Per fill, each image's drop of the PNEUMONIA logit with the hottest region filled, and with it shifted anywhere and elsewhere. */
const drops = Object.fromEntries(Object.keys(FILLS).map((fill) => [fill, { hottest: [] as number[], anywhere: [] as number[], elsewhere: [] as number[] }]));
let calledNormal = 0;
let refused = 0;
/** Images whose hottest region could not be moved clear of itself. */
let overlapping = 0;
/** Images whose region shifted anywhere shares pixels with the hottest one. */
let anywhereOverlaps = 0;
/** How many maps leave the chest each way, and how many keep to it. */
const outside = new Map<OutsideChest, number>();
let inChest = 0;
for (const file of files) {
  const { tensor, result } = await explained(file);
  if (refusedByGate(result)) refused++;
  else if (result.prediction !== "PNEUMONIA") calledNormal++;
  else {
    const logit = mean(result.cam!);
    // One sort of the map for both: the deleted region is its hottest `share`, the frame judges its hottest tenth.
    const order = hottestFirst(result.cam!);
    const waysOut = outsideChest(order, explanation.width, explanation.height);
    for (const way of waysOut) outside.set(way, (outside.get(way) ?? 0) + 1);
    if (waysOut.length === 0) inChest++;
    const hot = order.subarray(0, Math.round(share * order.length));
    // One shift of each kind per image, the same for every fill.
    const anywhere = shifted(hot, width, height, random.int(width), random.int(height));
    const inHot = new Set(hot);
    if (anywhere.some((i) => inHot.has(i))) anywhereOverlaps++;
    const clear = clearOffset(hot);
    const elsewhere = shifted(hot, width, height, clear.dx, clear.dy);
    if (clear.overlap > 0) overlapping++;
    for (const [fill, level] of Object.entries(FILLS)) {
      const value = (level - normalisation.mean) / normalisation.std;
      const inputs = [hot, anywhere, elsewhere].map((region) => filled(tensor, region, value));
      const [afterHot, afterAnywhere, afterElsewhere] = await model.classifyBatch(inputs, [true, true, true]);
      drops[fill]!.hottest.push(logit - mean(afterHot!.cam!));
      drops[fill]!.anywhere.push(logit - mean(afterAnywhere!.cam!));
      drops[fill]!.elsewhere.push(logit - mean(afterElsewhere!.cam!));
    }
  }
}
const images = drops.grey!.hottest.length;
/** The share of each clear NORMAL X-ray's map that is black, on the served scale. */
const clearNormalBlack: number[] = [];
for (const file of await imagesOf("NORMAL")) {
  const { result } = await explained(file);
  if (refusedByGate(result)) continue;
  if (result.probabilities.NORMAL >= CLEAR_NORMAL.probability) clearNormalBlack.push(blackShare(camToGrey(result.cam!, explanation)));
}
const mostlyBlack = clearNormalBlack.filter((black) => black > CLEAR_NORMAL.blackShare).length;
const medianBlack = clearNormalBlack.sort((a, b) => a - b)[Math.floor(clearNormalBlack.length / 2)] ?? 0;
const leavingBySide = WAYS_OUT_OF_CHEST.map((way) => `${way} ${outside.get(way) ?? 0}`).join(", ");
const frame = `${CHEST_FRAME.left * 100}-${CHEST_FRAME.right * 100} % across and ${CHEST_FRAME.top * 100}-${CHEST_FRAME.bottom * 100} % down`;
const rows = Object.entries(drops).flatMap(([fill, { hottest: hot, ...controls }]) =>
  Object.entries(controls).map(([control, moved]) => {
    const wins = hot.filter((drop, i) => drop > moved[i]!).length;
    const [hotMean, movedMean] = [mean(hot), mean(moved)];
    // A control that raised the logit on average leaves no ratio to speak of.
    const ratio = movedMean > 0 ? (hotMean / movedMean).toFixed(2) : "-";
    return `| ${fill} | ${control} | ${hotMean.toFixed(3)} | ${movedMean.toFixed(3)} | ${ratio} | ${wins} of ${images} (${percent(wins, images)}) |`;
  }),
);
const report = [
  `Deletion test of ${model.manifest.name} ${model.manifest.version}'s class activation map on \`${values.data}/PNEUMONIA\`: ${files.length} images, ` +
    `${images} called PNEUMONIA and accepted by the gate (${calledNormal} called NORMAL, ${refused} refused: left out). The hottest ` +
    `${(share * 100).toFixed(0)} % of each model input, and the same region shifted by a random offset (seed ${values.seed}), set to the fill; ` +
    `shifted anywhere (for ${anywhereOverlaps} images it shares pixels with the hottest region), or elsewhere (sharing no pixel with it` +
    (overlapping ? `; for ${overlapping} images no offset cleared it, and the least overlapping was used` : "") +
    "); the drop of the PNEUMONIA logit (threshold folded) on average:",
  "",
  "| fill | shifted | hottest region | shifted region | ratio | hottest drops more |",
  "|---|---|---|---|---|---|",
  ...rows,
  "",
  `Where the maps lie, by the frame the explanation tests hold each fixture to (\`tools/support/map-placement.ts\`: the hottest ` +
    `tenth within ${frame}, the peak off the middle fifth): **${inChest} of ${images} PNEUMONIA maps (${percent(inChest, images)}) ` +
    `keep to it**; maps leaving it by side (one map may leave by several): ${leavingBySide} (peak over the mediastinum). ` +
    `Of the ${clearNormalBlack.length} NORMAL X-rays called NORMAL with probability >= ${CLEAR_NORMAL.probability} and accepted by the gate, ` +
    `**${mostlyBlack} (${percent(mostlyBlack, clearNormalBlack.length)}) have maps over ${CLEAR_NORMAL.blackShare * 100} % black** ` +
    `(median ${percent(medianBlack, 1)} black).`,
  "",
  `Command: \`npm run evaluate:explain -- --data ${values.data} --share ${share} --seed ${values.seed}\`.`,
].join("\n");
console.log(report);
if (values.card) await replaceCardSection(values.card, "explain-metrics", report);
