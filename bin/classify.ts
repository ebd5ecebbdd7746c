#!/usr/bin/env -S node --import tsx
/**
 * Classifies chest X-rays (files, folders, globs) against the API, locally or deployed, writing one CSV or
 * JSON line per input. Retries 429 and 503 with backoff; with --fallback-url, sends the same request to the
 * GPU route when the first answers 429, 413, 5xx or not at all (README: fallback rule).
 *
 *   npx pneumonia-classify --url http://127.0.0.1:3000 ../shared/data/originals > results.csv
 *   npx pneumonia-classify --url http://127.0.0.1:3000 --explain overlays ../shared/data/originals > results.csv
 *
 * Exit code: 0 when every input was classified, 1 when any failed, 2 for a usage error.
 */
import { createWriteStream } from "node:fs";
import { mkdir } from "node:fs/promises";
import { classifyFile, type ClientOptions, type Row } from "./cli/client.js";
import { parseCommandLine } from "./cli/command-line.js";
import { expandInputs } from "./cli/inputs.js";
import { FORMATS, progressBar, rowWriter, type Format } from "./cli/output.js";

const commandLine = parseCommandLine({
  command: "pneumonia-classify",
  summary: "Classifies chest X-rays (JPEG or PNG files, folders searched for them, globs) against the API and writes one row per input.",
  operands: "FILE|FOLDER|GLOB...",
  synopsis: "--url URL [options] FILE|FOLDER|GLOB...",
  options: {
    url: { type: "string", value: "URL", doc: "the API: http://127.0.0.1:3000 for npm start, the stack's ApiUrl once deployed (required)" },
    "fallback-url": { type: "string", value: "URL", doc: "where to send a request the first URL answers with 429, 413 or 5xx, or not at all (<ApiUrl>/gpu)" },
    "api-key": { type: "string", value: "KEY", doc: "sent as x-api-key; $PNEUMONIA_API_KEY when absent" },
    concurrency: { type: "string", value: "N", default: "4", doc: "requests in flight at once, 1 to 256" },
    format: { type: "string", value: FORMATS.join("|"), default: "csv", doc: "one CSV row or one JSON line per input" },
    output: { type: "string", value: "FILE", doc: "write the rows there instead of stdout" },
    attempts: { type: "string", value: "N", default: "4", doc: "tries per route for 429, 503 and network errors, 1 to 100" },
    "timeout-ms": { type: "string", value: "MS", default: "30000", doc: "give up on one request after that long" },
    explain: { type: "string", value: "DIR", doc: "ask for where the model looked (explain=true) and write DIR/<name>.png per input: the X-ray with the heatmap over it in colour" },
  },
});
const { values, positionals } = commandLine;
const url = commandLine.url("url") ?? commandLine.fail("--url is required");
const fallbackUrl = commandLine.url("fallback-url");
if (!FORMATS.includes(values.format as Format)) commandLine.fail(`--format must be one of ${FORMATS.join(", ")}, not "${values.format}"`);
const concurrency = commandLine.number("concurrency", { min: 1, max: 256 });
const options: ClientOptions = {
  url,
  fallbackUrl,
  // From the environment rather than as a default, so --help never prints the key.
  apiKey: values["api-key"] ?? process.env.PNEUMONIA_API_KEY,
  attempts: commandLine.number("attempts", { min: 1, max: 100 }),
  backoffMs: 200,
  timeoutMs: commandLine.number("timeout-ms", { min: 1, max: 3_600_000 }),
  explainDir: values.explain,
};
if (positionals.length === 0) commandLine.fail("name at least one file, folder or glob");

if (values.explain) await mkdir(values.explain, { recursive: true });
const files = await expandInputs(positionals);
if (files.length === 0) commandLine.fail(`no file matches ${positionals.join(" ")}`);
const out = values.output ? createWriteStream(values.output) : process.stdout;
// A reader that stops early (`| head`) closes the pipe: stop quietly, as Unix tools do.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw error;
});
const write = rowWriter(out, values.format as Format, Boolean(values.explain));
const progress = progressBar(files.length);
const rows: Row[] = [];

// A fixed pool of workers taking the next file, so at most `concurrency` requests are in flight.
let next = 0;
await Promise.all(
  Array.from({ length: Math.min(concurrency, files.length) }, async () => {
    while (next < files.length) {
      const row = await classifyFile(files[next++]!, options);
      rows.push(row);
      write(row);
      progress.tick(row);
    }
  }),
);
progress.finish();
if (out !== process.stdout) await new Promise<void>((resolve) => out.end(() => resolve()));
const failed = rows.filter((row) => row.error).length;
process.stderr.write(`${rows.length - failed} classified, ${failed} failed${rows.some((r) => r.route === "fallback") ? `, ${rows.filter((r) => r.route === "fallback").length} through the fallback route` : ""}\n`);
process.exitCode = failed === 0 ? 0 : 1;
