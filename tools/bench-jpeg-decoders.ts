/**
 * JPEG decoders for the 128x128 grey model input, measured on the full-resolution originals: the MozJPEG
 * full-size decode the service used before, the libjpeg-turbo WebAssembly build decoding at a reduced scale
 * (lambda/core/model/libjpeg-turbo), wasm-vips when installed, and sharp. Each then takes the same area downscale
 * (lambda/core/model/area-downscale.ts) but sharp, which resizes itself. Also: module sizes, compile+instantiate
 * time and first decode in fresh processes, peak RSS of a process decoding every image, and how far the
 * reduced-scale 128x128 grey images are from MozJPEG's, and the model's answers on them. Prints Markdown.
 *
 *   node --import tsx tools/bench-jpeg-decoders.ts [--data ../shared/data/originals] [--rounds 5] [--cold 10]
 *
 * wasm-vips is optional (it is not a dependency): `npm i --no-save wasm-vips@0.0.19` to include it.
 */
import { spawn } from "node:child_process";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import { quantile, timeRounds } from "./run-report.js";

const { values } = parseArgs({
  options: {
    data: { type: "string", default: "../shared/data/originals" },
    rounds: { type: "string", default: "5" },
    cold: { type: "string", default: "10" },
    child: { type: "string" },
  },
});

/** The model input and the smallest image the scaled decode may give: twice the input, as the issue asks. */
const OUT = 128;
const MIN = 2 * OUT;
const DECODER_WASM = fileURLToPath(new URL("../lambda/core/model/libjpeg-turbo/libjpeg-turbo-grey.wasm", import.meta.url));

function loadImages(root: string): Buffer[] {
  const images = [];
  for (const label of ["NORMAL", "PNEUMONIA"]) {
    for (const name of readdirSync(join(root, label)).sort()) images.push(readFileSync(join(root, label, name)));
  }
  return images;
}

type Work = (image: Buffer) => Promise<unknown> | unknown;

/** A path ready to run, and the milliseconds its decoder took to start (compile, instantiate, init). */
interface Path {
  work: Work;
  initMs: number;
}

async function timed(start: () => unknown): Promise<number> {
  const started = performance.now();
  await start();
  return performance.now() - started;
}

/** Each decode path, imported only when asked for, so a child process loads nothing else. */
const paths: Record<string, () => Promise<Path>> = {
  "mozjpeg-full": async () => {
    const { default: mozjpegFormat, warmMozjpegDecoder } = await import("./support/mozjpeg-format.js");
    const { downscaleToGrey } = await import("../lambda/core/model/area-downscale.js");
    const initMs = await timed(warmMozjpegDecoder);
    const format = mozjpegFormat();
    return {
      initMs,
      work: async (image) => {
        const { data, width, height } = await format.decode(image);
        return downscaleToGrey(data, width, height, OUT, OUT);
      },
    };
  },
  "libjpeg-turbo-scaled": async () => {
    const { decodeGreyScaled, warmScaledJpegDecoder } = await import("../lambda/core/model/libjpeg-turbo/scaled-jpeg-decoder.js");
    const { downscaleGrey } = await import("../lambda/core/model/area-downscale.js");
    const initMs = await timed(warmScaledJpegDecoder);
    return { initMs, work: (image) => {
      const { data, width, height } = decodeGreyScaled(image, { minWidth: MIN, minHeight: MIN });
      return downscaleGrey(data, width, height, OUT, OUT);
    } };
  },
  "wasm-vips-shrink": async () => {
    let vips: WasmVips | undefined;
    const initMs = await timed(async () => (vips = await loadWasmVips()));
    const { downscaleGrey } = await import("../lambda/core/model/area-downscale.js");
    const { scaleFor, readJpegHeader } = await import("../lambda/core/model/libjpeg-turbo/scaled-jpeg-decoder.js");
    return { initMs, work: (image) => {
      const { width: w, height: h } = readJpegHeader(image);
      const shrink = scaleFor(w, h, MIN, MIN);
      const loaded = vips!.Image.jpegloadBuffer(image, { shrink });
      const grey = loaded.bands === 1 ? loaded : loaded.colourspace("b-w");
      const pixels = grey.writeToMemory();
      const out = downscaleGrey(pixels, grey.width, grey.height, OUT, OUT);
      if (grey !== loaded) grey.delete();
      loaded.delete();
      return out;
    } };
  },
  "sharp": async () => {
    let sharp: (typeof import("sharp"))["default"] | undefined;
    const initMs = await timed(async () => ({ default: sharp } = await import("sharp")));
    return { initMs, work: (image) => sharp!(image).greyscale().resize(OUT, OUT, { fit: "fill" }).raw().toBuffer() };
  },
  "none": async () => ({ initMs: 0, work: () => undefined }),
};

/** The few wasm-vips calls used here (it is an optional package, so its own types may be absent). */
interface VipsImage {
  width: number;
  height: number;
  bands: number;
  colourspace(space: string): VipsImage;
  writeToMemory(): Uint8Array;
  delete(): void;
}
interface WasmVips {
  Image: { jpegloadBuffer(data: Uint8Array, options: { shrink: number }): VipsImage };
  Cache: { max(operations: number): void };
  shutdown(): void;
}

async function loadWasmVips(): Promise<WasmVips> {
  const name = "wasm-vips";
  const { default: Vips } = (await import(name)) as { default: (options: object) => Promise<WasmVips> };
  const vips = await Vips({ dynamicLibraries: [] });
  // No operation cache: every round must decode.
  vips.Cache.max(0);
  return vips;
}

function hasWasmVips(): boolean {
  try {
    import.meta.resolve("wasm-vips");
    return true;
  } catch {
    return false;
  }
}

/**
 * Child mode: start the path (timed: the decoder's compile + instantiate + init, and with the imports), decode
 * the first image (timed: on a fresh instance, before V8's optimising tier), then every image once, and print
 * the figures and VmHWM as JSON.
 */
async function child(kind: string): Promise<void> {
  const started = performance.now();
  const { work, initMs } = await paths[kind]!();
  const ready = performance.now();
  const images = loadImages(values.data!);
  const first = performance.now();
  await work(images[0]!);
  const firstMs = performance.now() - first;
  for (const image of images) await work(image);
  // VmHWM, not resourceUsage().maxRSS: Linux carries maxRSS across exec from the forking parent.
  const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"))![1]) / 1024;
  console.log(JSON.stringify({ initMs, startMs: ready - started, firstMs, rssMb: hwm }));
  if (kind === "wasm-vips-shrink") process.exit(0); // its worker threads keep the process alive
}

interface ChildResult {
  initMs: number;
  startMs: number;
  firstMs: number;
  rssMb: number;
}

async function runChild(kind: string): Promise<ChildResult> {
  const process_ = spawn(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url), "--child", kind, "--data", values.data!]);
  let output = "";
  process_.stdout.on("data", (chunk: Buffer) => (output += chunk));
  process_.stderr.on("data", (chunk: Buffer) => (output += chunk));
  const code = await new Promise<number | null>((resolve) => process_.on("exit", resolve));
  if (code !== 0) throw new Error(`child ${kind} failed: ${output}`);
  return JSON.parse(output.trim().split("\n").at(-1)!) as ChildResult;
}

function packageBytes(folder: string): number {
  let total = 0;
  for (const entry of readdirSync(folder, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += statSync(join(entry.parentPath, entry.name)).size;
  }
  return total;
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;
const median = (values: number[]) => quantile(values, 0.5);

async function main(): Promise<void> {
  const rounds = Number(values.rounds);
  const coldRuns = Number(values.cold);
  const images = loadImages(values.data!);
  const withVips = hasWasmVips();
  const { decodeGreyScaled, readJpegHeader, scaleFor } = await import("../lambda/core/model/libjpeg-turbo/scaled-jpeg-decoder.js");
  const { default: mozjpegFormat } = await import("./support/mozjpeg-format.js");
  const { downscaleGrey, downscaleToGrey } = await import("../lambda/core/model/area-downscale.js");
  const mozjpeg = mozjpegFormat();

  const mozjpegPath = (await paths["mozjpeg-full"]!()).work;
  const scaled = (await paths["libjpeg-turbo-scaled"]!()).work;
  const sharpPath = (await paths["sharp"]!()).work;
  const { default: sharp } = await import("sharp");
  const stages: Record<string, number[]> = {
    "(a) before: MozJPEG (@jsquash/jpeg) full-size decode": await timeRounds(images, rounds, (image) => mozjpeg.decode(image)),
    "(a) before: MozJPEG full-size decode + area downscale to 128x128": await timeRounds(images, rounds, mozjpegPath),
    "(b) libjpeg-turbo wasm, grey at 1/N (N: sides >= 256)": await timeRounds(images, rounds, (image) => decodeGreyScaled(image, { minWidth: MIN, minHeight: MIN })),
    "(b) libjpeg-turbo wasm 1/N + area downscale of the grey": await timeRounds(images, rounds, scaled),
    "(b) of which area downscale (on the decoded grey)": await timeRounds(
      images.map((image) => decodeGreyScaled(image, { minWidth: MIN, minHeight: MIN })),
      rounds,
      ({ data, width, height }) => downscaleGrey(data, width, height, OUT, OUT),
    ),
  };
  if (withVips) {
    const vipsPath = (await paths["wasm-vips-shrink"]!()).work;
    stages["(c) wasm-vips jpegload shrink=N + area downscale"] = await timeRounds(images, rounds, vipsPath);
  }
  stages["(d) sharp: decode + grey + resize 128x128 (as tools/bench.ts)"] = await timeRounds(images, rounds, sharpPath);
  stages["(d) sharp, ignoreIcc (the grey the model sees)"] = await timeRounds(images, rounds, (image) =>
    sharp(image, { ignoreIcc: true }).greyscale().resize(OUT, OUT, { fit: "fill" }).raw().toBuffer(),
  );

  const cold: Record<string, ChildResult[]> = {};
  for (const kind of ["none", "libjpeg-turbo-scaled", "mozjpeg-full", ...(withVips ? ["wasm-vips-shrink"] : []), "sharp"]) {
    cold[kind] = [];
    for (let i = 0; i < coldRuns; i++) cold[kind].push(await runChild(kind));
  }

  // Tensor difference: the 128x128 grey of MozJPEG's path against the scaled decode's, per image, and the
  // model's P(PNEUMONIA) on each after the service's normalisation. Last: onnxruntime's threads would compete
  // with the timings.
  process.env.POWERTOOLS_LOG_LEVEL ??= "SILENT";
  const { inProcessModel } = await import("../lambda/core/model/in-process-model.js");
  const { greyToTensor } = await import("../lambda/core/model/grey-tensor.js");
  const model = await inProcessModel();
  const spec = model.manifest.input.preprocessing;
  if (spec.width !== OUT || spec.height !== OUT) throw new Error(`The model takes ${spec.width}x${spec.height}; this bench assumes ${OUT}x${OUT}.`);
  const pneumonia = async (grey: Float32Array) => (await model.classify(greyToTensor(grey, spec))).probabilities.PNEUMONIA;
  const threshold = model.manifest.threshold;
  const probabilityChanges: number[] = [];
  let flipped = 0;
  const means: number[] = [];
  const maxima: number[] = [];
  const scales = new Map<number, number>();
  for (const image of images) {
    const { data, width, height } = await mozjpeg.decode(image);
    const reference = downscaleToGrey(data, width, height, OUT, OUT);
    const candidate = (await scaled(image)) as Float32Array;
    let sum = 0;
    let max = 0;
    for (let i = 0; i < reference.length; i++) {
      const difference = Math.abs(reference[i]! - candidate[i]!);
      sum += difference;
      max = Math.max(max, difference);
    }
    means.push(sum / reference.length);
    maxima.push(max);
    const [before, after] = [await pneumonia(reference), await pneumonia(candidate)];
    probabilityChanges.push(Math.abs(after - before));
    if (before >= threshold !== after >= threshold) flipped++;
    const header = readJpegHeader(image);
    const scale = scaleFor(header.width, header.height, MIN, MIN);
    scales.set(scale, (scales.get(scale) ?? 0) + 1);
  }

  const ours = readFileSync(DECODER_WASM);
  const mozjpegWasm = readFileSync(fileURLToPath(import.meta.resolve("@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm")));
  const pixels = images.map((image) => readJpegHeader(image)).map((h) => h.width * h.height);

  console.log(
    `${images.length} images from ${values.data} (median ${(median(pixels) / 1e6).toFixed(2)} MP), ${rounds} rounds after a warm-up pass, ` +
      `Node ${process.version}; scales chosen (N: images): ${[...scales].sort().map(([s, n]) => `1/${s}: ${n}`).join(", ")}\n`,
  );
  console.log("| path (one image, sequential) | p50 ms | p99 ms |\n|---|---|---|");
  for (const [name, times] of Object.entries(stages)) console.log(`| ${name} | ${median(times).toFixed(2)} | ${quantile(times, 0.99).toFixed(2)} |`);
  if (!withVips) console.log("| (c) wasm-vips | not installed | (npm i --no-save wasm-vips@0.0.19) |");

  console.log(`\nTensor (128x128 grey, 0..255) of (b) against (a), per image: mean |difference| median ${median(means).toFixed(3)}, ` +
    `largest ${Math.max(...means).toFixed(3)}; max |difference| median ${median(maxima).toFixed(0)}, largest ${Math.max(...maxima).toFixed(0)}`);
  console.log(`Model (${model.manifest.name} ${model.manifest.version}) on the two: |change in P(PNEUMONIA)| median ${median(probabilityChanges).toFixed(4)}, ` +
    `largest ${Math.max(...probabilityChanges).toFixed(4)}; answers changed at threshold ${threshold}: ${flipped} of ${images.length}`);

  console.log(`\n| path | size on disk (gzip) | fresh process: decoder compile + instantiate + init, median ms | the same with its imports, median ms | first decode (fresh instance), median ms | peak RSS decoding all ${images.length}, median MB |\n|---|---|---|---|---|---|`);
  const sizes: Record<string, string> = {
    "none": "(node + tsx only)",
    "libjpeg-turbo-scaled": `${kib(ours.length)} (${kib(gzipSync(ours, { level: 9 }).length)})`,
    "mozjpeg-full": `${kib(mozjpegWasm.length)} wasm (${kib(gzipSync(mozjpegWasm, { level: 9 }).length)}), package ${kib(packageBytes(dirname(fileURLToPath(import.meta.resolve("@jsquash/jpeg/package.json")))))}`,
    "wasm-vips-shrink": withVips ? `package ${kib(packageBytes(dirname(fileURLToPath(import.meta.resolve("wasm-vips/versions")))))} (vips.wasm ${kib(statSync(fileURLToPath(import.meta.resolve("wasm-vips/vips.wasm"))).size)})` : "",
    "sharp": "native (@img/sharp-linux-x64 + libvips)",
  };
  for (const [kind, results] of Object.entries(cold)) {
    console.log(`| ${kind} | ${sizes[kind]} | ${median(results.map((r) => r.initMs)).toFixed(1)} | ${median(results.map((r) => r.startMs)).toFixed(1)} | ${median(results.map((r) => r.firstMs)).toFixed(1)} | ${median(results.map((r) => r.rssMb)).toFixed(0)} |`);
  }
  console.log(`\nFresh-process figures: ${coldRuns} runs of \`node --import tsx ${join("tools", "bench-jpeg-decoders.ts")} --child <path>\`; "import" includes tsx transpiling TypeScript.`);
}

if (values.child) await child(values.child);
else await main();
