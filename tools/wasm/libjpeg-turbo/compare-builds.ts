/**
 * Decode speed of several builds of libjpeg-turbo-grey.wasm (build.sh with other flags, DEST=elsewhere), in one
 * process, interleaved image by image (in turn first) so that a busy machine slows them all alike. Each build runs behind its
 * own copy of scaled-jpeg-decoder.ts. Prints p50/p90 per build and, per image, its time over the first build's.
 *
 *   node --import tsx tools/wasm/libjpeg-turbo/compare-builds.ts [--data ../shared/data/originals] [--rounds 8] \
 *     [--min 256] lambda/core/model/libjpeg-turbo/libjpeg-turbo-grey.wasm /tmp/simd/libjpeg-turbo-grey.wasm ...
 */
import { copyFileSync, mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { quantile } from "../../run-report.js";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    data: { type: "string", default: "../shared/data/originals" },
    rounds: { type: "string", default: "8" },
    min: { type: "string", default: "256" },
  },
});

type Decoder = typeof import("../../../lambda/core/model/libjpeg-turbo/scaled-jpeg-decoder.js");

const source = new URL("../../../lambda/core/model/libjpeg-turbo/scaled-jpeg-decoder.ts", import.meta.url);
const decoders: Decoder[] = [];
for (const wasm of positionals) {
  const folder = mkdtempSync(join(tmpdir(), "jpeg-build-"));
  copyFileSync(source, join(folder, "scaled-jpeg-decoder.ts"));
  copyFileSync(resolve(wasm), join(folder, "libjpeg-turbo-grey.wasm"));
  decoders.push((await import(pathToFileURL(join(folder, "scaled-jpeg-decoder.ts")).href)) as Decoder);
}
if (decoders.length === 0) throw new Error("Name the .wasm builds to compare.");

const images: Buffer[] = [];
for (const label of ["NORMAL", "PNEUMONIA"]) {
  for (const name of readdirSync(join(values.data!, label)).sort()) images.push(readFileSync(join(values.data!, label, name)));
}
const options = { minWidth: Number(values.min), minHeight: Number(values.min) };
const times: number[][] = decoders.map(() => []);
for (let round = -1; round < Number(values.rounds); round++) {
  images.forEach((image, k) => {
    // Each image starts with another build, so none always meets the image first (cold in the CPU's caches).
    for (let j = 0; j < decoders.length; j++) {
      const i = (j + k + round + 1) % decoders.length;
      const started = performance.now();
      decoders[i]!.decodeGreyScaled(image, options);
      if (round >= 0) times[i]!.push(performance.now() - started);
    }
  });
}

console.log(`${images.length} images, ${values.rounds} rounds after a warm-up pass, sides >= ${values.min}, Node ${process.version}\n`);
console.log("| build | p50 ms | p90 ms | time / first build's, median per image |\n|---|---|---|---|");
positionals.forEach((wasm, i) => {
  const ratios = times[i]!.map((t, k) => t / times[0]![k]!);
  console.log(`| ${wasm} | ${quantile(times[i]!, 0.5).toFixed(2)} | ${quantile(times[i]!, 0.9).toFixed(2)} | ${quantile(ratios, 0.5).toFixed(3)} |`);
});
