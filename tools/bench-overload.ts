/**
 * Overload test of the batching server (issue 17): starts `npm run start:gpu` as its script does (the bundle), for each
 * client count, and loads it over loopback from closed-loop clients that send the next request the moment an
 * answer is in, whatever it was (as a client that ignores Retry-After does), with the full-resolution X-rays of
 * ../shared/data/originals as `curl -F` sends them. Meanwhile it asks /health twice a second and samples the
 * server's RSS. Prints, per client count: 200s a second (goodput), p99 of the 200s, the other answers,
 * connection errors, /health answers and peak RSS, then the issue's targets against what was measured.
 *
 * Options: `npm run bench:overload -- --help`. The load generator runs on the same cores as the server.
 */
import { readFileSync } from "node:fs";
import { Agent, request as httpRequest } from "node:http";
import { cpus } from "node:os";
import { ORIGINALS, imageForm, readOriginals, type EncodedForm } from "./support/forms.js";
import { SERVER_ENTRIES, buildBundles, startServer } from "./support/server-process.js";
import { codeVersion, quantile } from "./run-report.js";
import { parseCommandLine } from "../bin/cli/command-line.js";

const commandLine = parseCommandLine({
  command: "npm run bench:overload --",
  summary:
    "Floods npm run start:gpu over loopback from closed-loop clients that resend at once, with the full-resolution originals, " +
    "and prints goodput, p99 of the 200s, other answers, connection errors, /health and peak RSS per client count.",
  options: {
    clients: { type: "string", value: "N[,N...]", default: "16,64,200", doc: "closed-loop clients; a run (and a fresh server) for each" },
    seconds: { type: "string", value: "S", default: "15", doc: "length of each measured run" },
    "warmup-seconds": { type: "string", value: "S", default: "3", doc: "load before each measured run, not counted" },
    originals: { type: "string", value: "DIR", default: ORIGINALS, doc: "NORMAL/ and PNEUMONIA/ folders of X-rays" },
  },
});
const { values } = commandLine;
const seconds = commandLine.number("seconds", { min: 1, max: 3600, integer: false });
const warmupSeconds = commandLine.number("warmup-seconds", { min: 0, max: 3600, integer: false });
const clientCounts = values.clients.split(",").map(Number);
if (!clientCounts.every((n) => Number.isInteger(n) && n >= 1 && n <= 2000)) {
  commandLine.fail(`--clients must be whole numbers from 1 to 2000 separated by commas, not "${values.clients}"`);
}

/** How one request ended: its status if it was answered, the error if the connection failed. */
interface Answer {
  ms: number;
  status?: number;
  retryAfter?: string;
  error?: string;
}

function send(url: URL, agent: Agent, form: EncodedForm): Promise<Answer> {
  const started = performance.now();
  return new Promise((resolve) => {
    const answer: Answer = { ms: 0 };
    const outgoing = httpRequest(url, { method: "POST", agent, headers: { "content-type": form.contentType, "content-length": form.body.length } }, (response) => {
      answer.status = response.statusCode;
      answer.retryAfter = response.headers["retry-after"];
      response.resume();
      response.on("end", () => (answer.ms = performance.now() - started));
    });
    // An error after the answer (EPIPE while the body was still going out) is a connection error all the same.
    outgoing.on("error", (error: NodeJS.ErrnoException) => (answer.error ??= error.code ?? error.message));
    outgoing.on("close", () => resolve({ ...answer, ms: answer.ms || performance.now() - started }));
    outgoing.end(form.body);
  });
}

/** `clients` closed-loop clients sending for `durationMs`; every answer. */
async function flood(url: URL, forms: EncodedForm[], clients: number, durationMs: number): Promise<Answer[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: clients });
  const answers: Answer[] = [];
  const deadline = performance.now() + durationMs;
  let next = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < deadline) answers.push(await send(url, agent, forms[next++ % forms.length]!));
    }),
  );
  agent.destroy();
  return answers;
}

/** Polls `sample` every `everyMs` until stopped; the samples. */
function poll<T>(everyMs: number, sample: () => Promise<T>): { stop: () => Promise<T[]> } {
  const samples: T[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const [value] = await Promise.all([sample(), new Promise((resolve) => setTimeout(resolve, everyMs))]);
      samples.push(value);
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      return samples;
    },
  };
}

/** /health's status (0 for no answer within 5 s) and how long it took. */
async function health(base: string): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  const status = await fetch(`${base}/health`, { signal: AbortSignal.timeout(5000) }).then(
    async (response) => (await response.arrayBuffer(), response.status),
    () => 0,
  );
  return { status, ms: performance.now() - started };
}

/** The process's resident set in MB, from /proc (workers are threads of it); 0 off Linux. */
function rssMb(pid: number): number {
  try {
    return Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]) / 1024;
  } catch {
    return 0;
  }
}

const count = (n: number) => n.toLocaleString("en-US");

const images = await readOriginals(values.originals);
const forms = await Promise.all(images.map((image) => imageForm(image.bytes, image.name)));
console.log(
  `Overload of npm run start:gpu (defaults) over loopback, ${images.length} full-resolution originals, closed-loop clients that resend at once; ` +
    `${cpus().length} × ${cpus()[0]?.model ?? "unknown CPU"}, Node ${process.version}, code ${codeVersion()}; ${seconds} s a run after ${warmupSeconds} s of warm-up.`,
);

interface Row {
  clients: number;
  goodput: number;
  p99: number;
  others: Map<string, number>;
  withoutRetryAfter: number;
  connectionErrors: number;
  health: { status: number; ms: number }[];
  peakRssMb: number;
}
const rows: Row[] = [];
buildBundles();
for (const clients of clientCounts) {
  const server = await startServer(SERVER_ENTRIES.batchingBundle);
  const url = new URL("/pneumonia_classifier", server.url);
  const pid = server.process.pid!;
  await flood(url, forms, clients, warmupSeconds * 1000);
  const healthChecks = poll(500, () => health(server.url));
  const rss = poll(250, async () => rssMb(pid));
  const started = performance.now();
  const answers = await flood(url, forms, clients, seconds * 1000);
  const elapsed = (performance.now() - started) / 1000;
  const [healthSamples, rssSamples] = await Promise.all([healthChecks.stop(), rss.stop()]);
  await server.stop();

  const ok = answers.filter((answer) => answer.status === 200 && !answer.error);
  const others = new Map<string, number>();
  for (const answer of answers) {
    if (answer.status === 200 && !answer.error) continue;
    const key = answer.status === undefined ? `no answer (${answer.error})` : `${answer.status}${answer.error ? ` then ${answer.error}` : ""}`;
    others.set(key, (others.get(key) ?? 0) + 1);
  }
  const row: Row = {
    clients,
    goodput: ok.length / elapsed,
    p99: quantile(ok.map((answer) => answer.ms), 0.99),
    others,
    withoutRetryAfter: answers.filter((answer) => answer.status === 503 && answer.retryAfter === undefined).length,
    connectionErrors: answers.filter((answer) => answer.error).length,
    health: healthSamples,
    peakRssMb: Math.max(...rssSamples),
  };
  rows.push(row);
  const refused = answers.filter((answer) => answer.status === 503);
  console.log(
    `${clients} clients: ${count(answers.length)} answers in ${elapsed.toFixed(1)} s; 200: ${count(ok.length)} (p50 ${quantile(ok.map((a) => a.ms), 0.5).toFixed(0)} ms, ` +
      `p99 ${row.p99.toFixed(0)} ms); 503: ${count(refused.length)} (p50 ${quantile(refused.map((a) => a.ms), 0.5).toFixed(1)} ms, ` +
      `Retry-After ${[...new Set(refused.map((a) => a.retryAfter))].sort().join("/") || "-"}); /health p99 ${quantile(healthSamples.map((h) => h.ms), 0.99).toFixed(0)} ms`,
  );
}

const othersText = (row: Row) =>
  row.others.size === 0
    ? "none"
    : [...row.others].map(([key, n]) => `${count(n)} x ${key}`).join(", ") + ` in ${seconds} s` + (row.withoutRetryAfter ? ` (${count(row.withoutRetryAfter)} 503 without Retry-After)` : "");
const healthText = (row: Row) => `${row.health.filter((h) => h.status === 200).length}/${row.health.length} 200`;
const header = ["clients", "answered 200 a second", "p99 of the 200s", "other answers", "connection errors", "/health during the run", "peak RSS"];
console.log(`\n| ${header.join(" | ")} |\n|${header.map(() => "---").join("|")}|`);
for (const row of rows) {
  console.log(
    `| ${row.clients} | ${row.goodput.toFixed(1)} | ${count(Math.round(row.p99))} ms | ${othersText(row)} | ${row.connectionErrors} | ${healthText(row)} | ${row.peakRssMb.toFixed(0)} MB |`,
  );
}

const base = rows.find((row) => row.clients === 16);
const most = rows.at(-1)!;
if (base && most !== base) {
  const ratio = most.goodput / base.goodput;
  const onlyRefusals = [...most.others.keys()].every((key) => key === "503") && most.withoutRetryAfter === 0;
  console.log(`\nTargets (issue 17), at ${most.clients} clients against 16:`);
  console.log(`- goodput >= 0.9 x: ${ratio.toFixed(2)} x (${most.goodput.toFixed(1)} / ${base.goodput.toFixed(1)}) ${ratio >= 0.9 ? "met" : "missed"}`);
  console.log(`- p99 of admitted requests <= 1 s: ${most.p99.toFixed(0)} ms ${most.p99 <= 1000 ? "met" : "missed"}`);
  console.log(`- every other answer a 503 with Retry-After: ${onlyRefusals ? "met" : `missed (${othersText(most)})`}`);
  console.log(`- no connection errors: ${most.connectionErrors} ${most.connectionErrors === 0 ? "met" : "missed"}`);
  console.log(`- /health 200 throughout: ${healthText(most)} ${most.health.every((h) => h.status === 200) ? "met" : "missed"}`);
  console.log(`- RSS <= 400 MB: ${most.peakRssMb.toFixed(0)} MB ${most.peakRssMb <= 400 ? "met" : "missed"}`);
}
