/**
 * Throughput over loopback HTTP with the full-resolution X-rays of ../shared/data/originals, against
 * `npm start` (the Lambda handler behind the local front) and `npm run start:gpu` (the batching server)
 * with batching on and off, and its batch route. Each server is started as its npm script runs it.
 *
 * Options: `npm run bench:throughput -- --help`.
 *
 * Closed loop: `concurrency` clients each send the next image as soon as their last answer is in. Prints
 * requests/s, images/s, p50/p99 latency, errors (any answer but 200, any failed part of a batch, any
 * network error) and the server's CPU time per image. The load generator runs on the same cores.
 * First it measures the ceiling: the CPU time one thread needs to preprocess and classify each image in
 * process, with no HTTP, which no server on these cores can beat.
 */
import { readFileSync } from "node:fs";
import { Agent, request as httpRequest } from "node:http";
import { cpus } from "node:os";
import { ORIGINALS, encodeForm, imageForm, readOriginals, type EncodedForm } from "./support/forms.js";
import { SERVER_ENTRIES, buildBundles, startServer } from "./support/server-process.js";
import { codeVersion, quantile } from "./run-report.js";
import { OnnxModel } from "../lambda/core/model/onnx-model.js";
import { defaultModelDir } from "../lambda/core/model/manifest.js";
import { preprocessImage } from "../lambda/core/model/preprocess.js";
import { BATCH_LIMITS } from "../lambda/core/limits.js";
import { parseCommandLine } from "../bin/cli/command-line.js";

const TARGET_NAMES = ["start", "gpu", "gpu-unbatched", "gpu-batch-route"] as const;

const commandLine = parseCommandLine({
  command: "npm run bench:throughput --",
  summary:
    "Loads npm start and npm run start:gpu (batching on, off, and its batch route) over loopback with the full-resolution " +
    "originals from closed-loop clients, starting each server as its npm script does, and prints req/s, latency, errors and server CPU.",
  options: {
    seconds: { type: "string", value: "S", default: "20", doc: "length of each measured run" },
    "warmup-seconds": { type: "string", value: "S", default: "3", doc: "load before each measured run, not counted" },
    concurrency: { type: "string", value: "N[,N...]", default: "16", doc: "clients in the closed loop; a run for each" },
    only: { type: "string", value: "NAME[,NAME...]", doc: `the set-ups to measure, of ${TARGET_NAMES.join(", ")} (default all)` },
    "batch-files": { type: "string", value: "N", default: "8", doc: "images per request on the batch route" },
    originals: { type: "string", value: "DIR", default: ORIGINALS, doc: "NORMAL/ and PNEUMONIA/ folders of X-rays" },
  },
});
const { values } = commandLine;
const seconds = commandLine.number("seconds", { min: 1, max: 3600, integer: false });
const warmupSeconds = commandLine.number("warmup-seconds", { min: 0, max: 3600, integer: false });
const concurrencies = values.concurrency.split(",").map(Number);
if (!concurrencies.every((n) => Number.isInteger(n) && n >= 1 && n <= 1024)) {
  commandLine.fail(`--concurrency must be whole numbers from 1 to 1024 separated by commas, not "${values.concurrency}"`);
}
const batchFiles = commandLine.number("batch-files", { min: 1, max: BATCH_LIMITS.maxFiles });
const only = values.only?.split(",");
const unknownTarget = only?.find((name) => !(TARGET_NAMES as readonly string[]).includes(name));
if (unknownTarget !== undefined) commandLine.fail(`--only takes ${TARGET_NAMES.join(", ")}, not "${unknownTarget}"`);

/** A server set-up under test, as the npm scripts start it. */
interface Target {
  name: (typeof TARGET_NAMES)[number];
  description: string;
  entry: (typeof SERVER_ENTRIES)[keyof typeof SERVER_ENTRIES];
  env: NodeJS.ProcessEnv;
  path: string;
  /** Images in each request. */
  imagesPerRequest: number;
}

const TARGETS: Target[] = [
  { name: "start", description: "npm start (Lambda handler, local front)", entry: SERVER_ENTRIES.local, env: {}, path: "/pneumonia_classifier", imagesPerRequest: 1 },
  { name: "gpu", description: "npm run start:gpu (batching on, defaults)", entry: SERVER_ENTRIES.batchingBundle, env: {}, path: "/pneumonia_classifier", imagesPerRequest: 1 },
  {
    name: "gpu-unbatched",
    description: "npm run start:gpu, BATCH_MAX_SIZE=1 (batching off)",
    entry: SERVER_ENTRIES.batchingBundle,
    env: { BATCH_MAX_SIZE: "1" },
    path: "/pneumonia_classifier",
    imagesPerRequest: 1,
  },
  {
    name: "gpu-batch-route",
    description: `npm run start:gpu, batch route, ${batchFiles} images a request`,
    entry: SERVER_ENTRIES.batchingBundle,
    env: {},
    path: "/pneumonia_classifier/batch",
    imagesPerRequest: batchFiles,
  },
];
const selected = only ? TARGETS.filter((target) => only.includes(target.name)) : TARGETS;

async function forms(target: Target, images: { name: string; bytes: Buffer }[]): Promise<EncodedForm[]> {
  if (target.imagesPerRequest === 1) return Promise.all(images.map((image) => imageForm(image.bytes, image.name)));
  return Promise.all(
    images.map((_, start) => {
      const form = new FormData();
      for (let i = 0; i < target.imagesPerRequest; i++) {
        const image = images[(start + i) % images.length]!;
        form.append("file", new Blob([image.bytes], { type: "image/jpeg" }), image.name);
      }
      return encodeForm(form);
    }),
  );
}

interface Outcome {
  ms: number;
  ok: boolean;
  failedImages: number;
}

function send(url: URL, agent: Agent, form: EncodedForm, imagesPerRequest: number): Promise<Outcome> {
  const started = performance.now();
  return new Promise((resolve) => {
    const fail = () => resolve({ ms: performance.now() - started, ok: false, failedImages: imagesPerRequest });
    const request = httpRequest(
      url,
      { method: "POST", agent, headers: { "content-type": form.contentType, "content-length": form.body.length } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("error", fail);
        response.on("end", () => {
          const ms = performance.now() - started;
          if (response.statusCode !== 200) return resolve({ ms, ok: false, failedImages: imagesPerRequest });
          const answer = JSON.parse(Buffer.concat(chunks).toString()) as { prediction?: string; results?: { status: number }[] };
          const failedImages = answer.results ? answer.results.filter((result) => result.status !== 200).length : answer.prediction ? 0 : 1;
          resolve({ ms, ok: failedImages === 0, failedImages });
        });
      },
    );
    request.on("error", fail);
    request.end(form.body);
  });
}

/** Sends requests from `concurrency` closed-loop clients for `durationMs`; returns every outcome. */
async function load(url: URL, bodies: EncodedForm[], concurrency: number, durationMs: number, imagesPerRequest: number): Promise<Outcome[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const outcomes: Outcome[] = [];
  const deadline = performance.now() + durationMs;
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) outcomes.push(await send(url, agent, bodies[next++ % bodies.length]!, imagesPerRequest));
    }),
  );
  agent.destroy();
  return outcomes;
}

/** CPU seconds (user + system) the process has used, from /proc; undefined off Linux. */
function cpuSeconds(pid: number): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/** CPU milliseconds per image to preprocess and classify in this process, one thread, no HTTP (after a warm-up pass). */
async function cpuPerImageInProcess(images: { bytes: Buffer }[]): Promise<number> {
  const classifier = await OnnxModel.load(defaultModelDir(), { threads: 1, spinWhileIdle: false });
  const spec = classifier.manifest.input.preprocessing;
  const pass = async () => {
    for (const image of images) await classifier.classify((await preprocessImage(image.bytes, spec)).tensor);
  };
  await pass();
  const before = process.cpuUsage();
  for (let round = 0; round < 2; round++) await pass();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000 / (images.length * 2);
}

const images = await readOriginals(values.originals);
const ceilingMs = await cpuPerImageInProcess(images);
console.log(
  `Throughput over loopback, ${images.length} full-resolution originals, ${cpus().length} × ${cpus()[0]?.model ?? "unknown CPU"}, ` +
    `Node ${process.version}, code ${codeVersion()}; ${seconds} s a run after ${warmupSeconds} s of warm-up.`,
);
console.log(
  `Ceiling: preprocessing and classifying in process on one thread, no HTTP, takes ${ceilingMs.toFixed(1)} ms of CPU an image, ` +
    `so ${cpus().length} cores cannot serve more than ${((cpus().length * 1000) / ceilingMs).toFixed(0)} images/s.`,
);
const rows: string[][] = [];
if (selected.some((target) => target.entry === SERVER_ENTRIES.batchingBundle)) buildBundles();
for (const target of selected) {
  const bodies = await forms(target, images);
  for (const concurrency of concurrencies) {
    const server = await startServer(target.entry, target.env);
    const url = new URL(target.path, server.url);
    await load(url, bodies, concurrency, warmupSeconds * 1000, target.imagesPerRequest);
    const cpuBefore = cpuSeconds(server.process.pid!);
    const started = performance.now();
    const outcomes = await load(url, bodies, concurrency, seconds * 1000, target.imagesPerRequest);
    const elapsed = (performance.now() - started) / 1000;
    const cpuAfter = cpuSeconds(server.process.pid!);
    await server.stop();
    const latencies = outcomes.map((outcome) => outcome.ms);
    const imagesDone = outcomes.length * target.imagesPerRequest;
    const errors = outcomes.filter((outcome) => !outcome.ok).length;
    const failedImages = outcomes.reduce((sum, outcome) => sum + outcome.failedImages, 0);
    const cpuPerImage = cpuBefore !== undefined && cpuAfter !== undefined ? `${(((cpuAfter - cpuBefore) * 1000) / imagesDone).toFixed(1)}` : "n/a";
    const row = [
      target.name,
      String(concurrency),
      String(outcomes.length),
      (outcomes.length / elapsed).toFixed(1),
      (imagesDone / elapsed).toFixed(1),
      quantile(latencies, 0.5).toFixed(0),
      quantile(latencies, 0.99).toFixed(0),
      `${errors}${failedImages > errors ? ` (${failedImages} images)` : ""}`,
      cpuPerImage,
    ];
    rows.push(row);
    console.log(`${target.description}, concurrency ${concurrency}: ${row[3]} req/s, ${row[4]} images/s, p50 ${row[5]} ms, p99 ${row[6]} ms, errors ${row[7]}`);
  }
}

const header = ["target", "concurrency", "requests", "req/s", "images/s", "p50 ms", "p99 ms", "errors", "server CPU ms/image"];
console.log(`\n| ${header.join(" | ")} |\n|${header.map(() => "---").join("|")}|`);
for (const row of rows) console.log(`| ${row.join(" | ")} |`);
console.log("\nReference (issue 4): the article's FastAPI + gunicorn stack, 44 req/s at concurrency 8 (p50 142 ms, p99 598 ms) on this machine.");
