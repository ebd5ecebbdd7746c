#!/usr/bin/env -S node --import tsx
/**
 * Classifies chest X-rays (files, folders, globs) against the API, locally or deployed, writing one CSV or
 * JSON line per input. Retries 429 and 503 with backoff; with --fallback-url, sends the same request to the
 * GPU route when the first answers 429, 413, 5xx or not at all (README: fallback rule).
 *
 *   npx pneumonia-classify --url http://127.0.0.1:3000 ../shared/data/originals > results.csv
 *
 * Exit code: 0 when every input was classified, 1 when any failed, 2 for a usage error.
 */
import { createWriteStream } from "node:fs";
import { parseArgs } from "node:util";
import { classifyFile, type ClientOptions, type Row } from "./cli/client.js";
import { expandInputs } from "./cli/inputs.js";
import { FORMATS, progressBar, rowWriter, type Format } from "./cli/output.js";

const USAGE = `usage: pneumonia-classify --url URL [--fallback-url URL] [--api-key KEY] [--concurrency N]
                          [--format csv|jsonl] [--output FILE] [--attempts N] [--timeout-ms MS] FILE|FOLDER|GLOB...`;

function fail(message: string): never {
  process.stderr.write(`${message}\n${USAGE}\n`);
  process.exit(2);
}

const { values, positionals } = (() => {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        url: { type: "string" },
        "fallback-url": { type: "string" },
        "api-key": { type: "string", default: process.env.PNEUMONIA_API_KEY },
        concurrency: { type: "string", default: "4" },
        format: { type: "string", default: "csv" },
        output: { type: "string" },
        attempts: { type: "string", default: "4" },
        "timeout-ms": { type: "string", default: "30000" },
      },
    });
  } catch (error) {
    return fail((error as Error).message);
  }
})();

if (!values.url) fail("--url is required");
if (positionals.length === 0) fail("name at least one file, folder or glob");
if (!FORMATS.includes(values.format as Format)) fail(`--format must be one of ${FORMATS.join(", ")}`);
const concurrency = Number(values.concurrency);
if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256) fail("--concurrency must be an integer from 1 to 256");

const options: ClientOptions = {
  url: values.url,
  fallbackUrl: values["fallback-url"],
  apiKey: values["api-key"],
  attempts: Math.max(1, Number(values.attempts) || 1),
  backoffMs: 200,
  timeoutMs: Number(values["timeout-ms"]) || 30_000,
};

const files = await expandInputs(positionals);
if (files.length === 0) fail(`no file matches ${positionals.join(" ")}`);
const out = values.output ? createWriteStream(values.output) : process.stdout;
// A reader that stops early (`| head`) closes the pipe: stop quietly, as Unix tools do.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw error;
});
const write = rowWriter(out, values.format as Format);
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
