/**
 * What DICOM input costs a fresh Lambda process: spawns node on a bundle (npm run build's dist/lambda/index.mjs),
 * imports it, loads the model and answers one REST event then a second, for a JPEG and for uncompressed, JPEG-LS
 * and JPEG 2000 DICOM fixtures; prints each run's whole time from the spawn, the two events' times and the
 * process's peak RSS. With --compare, runs another bundle's JPEG event between each of this one's, so both
 * see the same machine load (`main`'s bundle, say, built with the same esbuild line into a folder of its own).
 *
 *   npm run build && node --import tsx tools/bench-dicom-cold-start.ts [--compare PATH] [--runs N]
 */
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseCommandLine } from "../bin/cli/command-line.js";
import { restApiEvent } from "./support/api-gateway-events.js";
import { encodeForm } from "./support/forms.js";

const commandLine = parseCommandLine({
  command: "node --import tsx tools/bench-dicom-cold-start.ts",
  summary: "Times a fresh process importing the Lambda bundle and answering a JPEG or DICOM event, and its peak RSS.",
  options: {
    bundle: { type: "string", value: "PATH", default: "dist/lambda/index.mjs", doc: "the bundle to measure" },
    compare: { type: "string", value: "PATH", doc: "another bundle whose JPEG event runs between each of this one's" },
    runs: { type: "string", value: "N", default: "3", doc: "runs of each event" },
  },
});
const runs = commandLine.number("runs", { min: 1, max: 100 });
const scratch = await mkdtemp(join(tmpdir(), "bench-dicom-cold-"));

const FIXTURES: [string, string][] = [
  ["JPEG", "test/fixtures/xrays/PNEUMONIA/person1184_bacteria_3132.jpeg"],
  ["DICOM, uncompressed", "test/fixtures/dicom/chest/CR-MONO1-10-chest-no-meta.dcm"],
  ["DICOM, JPEG-LS", "test/fixtures/dicom/transcodes/CR-MONO1-10-jpegls.dcm"],
  ["DICOM, JPEG 2000", "test/fixtures/dicom/transcodes/CR-MONO1-10-j2k.dcm"],
];

/** Writes the REST event posting `file`, and returns its path. */
async function eventFor(name: string, file: string): Promise<string> {
  const form = new FormData();
  form.append("file", new Blob([await readFile(file)]), file.split("/").pop());
  const { body, contentType } = await encodeForm(form);
  const path = join(scratch, `${name.replace(/\W+/g, "-")}.json`);
  await writeFile(path, JSON.stringify(restApiEvent({ headers: { "content-type": contentType }, body })));
  return path;
}

interface Run {
  ms: number;
  firstMs: number;
  secondMs: number;
  status: number;
  rssMb: number;
}

/** One fresh process: a script file, not --eval, since worker threads inherit the flags and refuse --input-type. */
async function run(bundle: string, eventFile: string): Promise<Run> {
  const script = join(scratch, "run.mjs");
  await writeFile(
    script,
    `const t0 = performance.now();
     const { handler } = await import(${JSON.stringify(resolve(bundle))});
     const event = JSON.parse(await (await import("node:fs/promises")).readFile(${JSON.stringify(eventFile)}, "utf8"));
     const context = { awsRequestId: "bench", functionName: "bench", getRemainingTimeInMillis: () => 30000 };
     const first = await handler(event, context);
     const t1 = performance.now();
     await handler(event, context);
     const t2 = performance.now();
     process.stdout.write(JSON.stringify({ status: first.statusCode, firstMs: t1 - t0, secondMs: t2 - t1, rssMb: process.resourceUsage().maxRSS / 1024 }) + "\\n", () => process.exit(0));`,
  );
  const started = performance.now();
  const child = spawn(process.execPath, [script], { env: { ...process.env, POWERTOOLS_LOG_LEVEL: "SILENT" } });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk));
  await new Promise((done) => child.on("exit", done));
  const last = output.trim().split("\n").pop() ?? "";
  if (!last.startsWith("{")) throw new Error(`the process did not answer: ${output.slice(0, 400)}`);
  return { ms: performance.now() - started, ...JSON.parse(last) };
}

const list = (values: number[], digits = 0) => values.map((v) => v.toFixed(digits)).join(", ");
for (const [name, file] of FIXTURES) {
  const event = await eventFor(name, file);
  const mine: Run[] = [];
  const theirs: Run[] = [];
  for (let i = 0; i < runs; i++) {
    if (commandLine.values.compare && name === "JPEG") theirs.push(await run(commandLine.values.compare, event));
    mine.push(await run(commandLine.values.bundle, event));
  }
  console.log(
    `${name} (${file}), status ${mine[0]!.status}: cold start ${list(mine.map((r) => r.ms))} ms; import + model + first event ${list(mine.map((r) => r.firstMs))} ms; ` +
      `second event ${list(mine.map((r) => r.secondMs))} ms; peak RSS ${list(mine.map((r) => r.rssMb))} MB`,
  );
  if (theirs.length > 0) console.log(`  --compare bundle, same event: cold start ${list(theirs.map((r) => r.ms))} ms; peak RSS ${list(theirs.map((r) => r.rssMb))} MB`);
}
await rm(scratch, { recursive: true, force: true });
