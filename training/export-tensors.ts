/**
 * Writes the model input tensors for a Kaggle-layout folder (`<root>/<split>/<LABEL>/*.jpeg`) using the
 * serving preprocessing, so training consumes exactly what the service will feed the model.
 *
 * Output per split: `<split>.f32` (float32 little-endian, N x 1 x H x W) and `<split>.json` (the spec,
 * the shape and one entry per image: file, label).
 *
 *   npx tsx training/export-tensors.ts --data ../shared/data/chest_xray --out training/.cache/tensors
 *   npx tsx training/export-tensors.ts --spec-from models/pneumonia-cnn ...   (the served model's preprocessing)
 */
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { createWriteStream } from "node:fs";
import { once } from "node:events";
import { finished } from "node:stream/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { preprocessImage } from "../lambda/core/model/preprocess.js";
import type { PreprocessingSpec } from "../lambda/core/model/preprocessing-spec.js";
import { readManifest } from "../lambda/core/model/manifest.js";

const LABELS = ["NORMAL", "PNEUMONIA"] as const;

const { values } = parseArgs({
  options: {
    data: { type: "string", default: "../shared/data/chest_xray" },
    out: { type: "string", default: "training/.cache/tensors" },
    splits: { type: "string", default: "train,dev" },
    size: { type: "string", default: "128" },
    equalisation: { type: "string", default: "histogram" },
    "spec-from": { type: "string", description: "a model directory whose manifest's preprocessing to use instead" },
  },
});

function specFromOptions(): PreprocessingSpec {
  const size = Number(values.size);
  const equalisation = values.equalisation === "none" ? "none" : "histogram";
  return {
    width: size,
    height: size,
    grey: "bt601-luma",
    equalisation,
    // Equalised values are uniform on [0, 1]: mean 1/2, standard deviation 1/sqrt(12).
    normalisation: equalisation === "histogram" ? { mean: 0.5, std: 0.2887 } : { mean: 0.5, std: 0.25 },
  };
}

const spec = values["spec-from"] ? (await readManifest(values["spec-from"])).input.preprocessing : specFromOptions();

async function listImages(splitDir: string) {
  const items: { file: string; label: (typeof LABELS)[number] }[] = [];
  for (const label of LABELS) {
    const names = (await readdir(join(splitDir, label))).filter((name) => /\.(jpe?g|png)$/i.test(name)).sort();
    for (const name of names) items.push({ file: `${label}/${name}`, label });
  }
  return items;
}

async function exportSplit(split: string) {
  const splitDir = join(values.data!, split);
  const items = await listImages(splitDir);
  const tensors = createWriteStream(join(values.out!, `${split}.f32`));
  const started = performance.now();
  for (const [index, item] of items.entries()) {
    const { tensor } = await preprocessImage(await readFile(join(splitDir, item.file)), spec);
    if (!tensors.write(Buffer.from(tensor.buffer, tensor.byteOffset, tensor.byteLength))) {
      await once(tensors, "drain");
    }
    if ((index + 1) % 500 === 0) console.log(`${split}: ${index + 1}/${items.length}`);
  }
  tensors.end();
  await finished(tensors);
  const index = { spec, shape: [items.length, 1, spec.height, spec.width], source: splitDir, items };
  await writeFile(join(values.out!, `${split}.json`), JSON.stringify(index));
  console.log(`${split}: ${items.length} images in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

await mkdir(values.out!, { recursive: true });
for (const split of values.splits!.split(",")) await exportSplit(split);
