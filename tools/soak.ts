/**
 * Soak test over real HTTP: sends, at a bounded rate and concurrency, a mix of valid X-rays and hostile
 * requests to the local API for a fixed time, checks every answer, and watches the server's memory.
 * Options: `npm run soak -- --help`.
 *
 * Without --url it starts the local API itself as the end-to-end tests do (`node --import tsx
 * lambda/serve-local.ts`, PORT=0, ready line), and stops it at the end. Only loopback URLs are accepted.
 *
 * Valid requests: the 10 fixtures in test/fixtures/xrays as `curl -F file=@...` sends them; the first
 * answer for each is its reference, and every later answer must be 200 with the same prediction and a
 * probability within 1e-6. Hostile requests: a text file, an empty form, a truncated form, a JSON body, a
 * form under the wrong boundary, a 2000-part form, a JPEG declaring 60000x60000, an 11 MB body and a PNG
 * declaring 20000x20000, each with the status and code lambda/core gives it (checked once before the run).
 * The server's VmRSS is read from /proc/<pid>/status every --sample-seconds.
 * Exit code 1 when a valid request failed, a hostile one got another status or code, a request got no
 * answer, or the server did not stay healthy; 2 for a usage error.
 */
import { request as httpRequest, Agent } from "node:http";
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { PNG } from "pngjs";
import { imageForm, xrayFixtures } from "./support/forms.js";
import { SERVER_ENTRIES, startServer, type LocalApiProcess } from "./support/server-process.js";
import { FORM_LIMITS } from "../lambda/core/limits.js";
import { parseCommandLine } from "../bin/cli/command-line.js";
import { codeVersion, quantile } from "./run-report.js";

/** curl asks before sending a body over 1 MB (its default); the soak does the same. */
const EXPECT_CONTINUE_ABOVE_BYTES = 1024 * 1024;

const commandLine = parseCommandLine({
  command: "npm run soak --",
  summary:
    "Sends valid X-rays and hostile requests at a bounded rate to the local API for a fixed time, checks every answer " +
    "and samples the server's RSS. Without --url it starts `npm start` on a free port itself and stops it at the end.",
  options: {
    seconds: { type: "string", value: "S", default: "60", doc: "length of the steady phase, after the reference and warm-up rounds" },
    rate: { type: "string", value: "N", default: "20", doc: "requests a second at most" },
    concurrency: { type: "string", value: "N", default: "4", doc: "requests in flight at most" },
    "hostile-every": { type: "string", value: "N", default: "3", doc: "every Nth request is hostile" },
    "sample-seconds": { type: "string", value: "S", default: "2", doc: "seconds between two reads of the server's RSS" },
    "timeout-seconds": { type: "string", value: "S", default: "30", doc: "a request with no answer by then counts as failed" },
    url: { type: "string", value: "URL", doc: "a server already running, on a loopback address (http://127.0.0.1:8080 for npm run start:gpu)" },
    pid: { type: "string", value: "PID", doc: "with --url: the server's process id, to sample its RSS" },
  },
});
const { values } = commandLine;
const seconds = commandLine.number("seconds", { min: 1, max: 86_400, integer: false });
const rate = commandLine.number("rate", { min: 0.1, max: 10_000, integer: false });
const concurrency = commandLine.number("concurrency", { min: 1, max: 1024 });
const hostileEvery = commandLine.number("hostile-every", { min: 1, max: 1_000_000 });
const sampleSeconds = commandLine.number("sample-seconds", { min: 0.1, max: 3600, integer: false });
const requestTimeoutMs = commandLine.number("timeout-seconds", { min: 1, max: 3600, integer: false }) * 1000;
const serverUrl = commandLine.url("url");
if (serverUrl !== undefined && !isLoopback(new URL(serverUrl))) {
  commandLine.fail(`--url must be a loopback address (127.0.0.1, localhost, ::1), not ${new URL(serverUrl).hostname}`);
}
if (values.pid !== undefined && serverUrl === undefined) commandLine.fail("--pid goes with --url: without --url the soak starts the server and knows its pid");
const serverPid = values.pid !== undefined ? commandLine.number("pid", { min: 1, max: 2 ** 22 }) : undefined;

/** One request the soak sends, with what the service must answer. */
interface Case {
  name: string;
  kind: "valid" | "hostile";
  body: Buffer;
  contentType: string;
  /** Hostile cases: the status and error code lambda/core answers with. */
  expected?: { status: number; code: string };
  /** Valid cases: the first answer, which every later one must equal. */
  reference?: { prediction: string; probability: number };
  label?: string;
}

interface Answer {
  status: number;
  body: string;
  ms: number;
}

const MB = 2 ** 20;

function isLoopback(url: URL): boolean {
  const host = url.hostname.replace(/^\[|\]$/g, "");
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** A JPEG with its frame header (SOF0/1/2) changed to declare width x height. */
function jpegDeclaring(jpeg: Buffer, width: number, height: number): Buffer {
  const out = Buffer.from(jpeg);
  for (let i = 2; i + 9 < out.length; ) {
    if (out[i] !== 0xff) throw new Error("no frame header found in the JPEG");
    const marker = out[i + 1]!;
    if (marker === 0xc0 || marker === 0xc1 || marker === 0xc2) {
      out.writeUInt16BE(height, i + 5);
      out.writeUInt16BE(width, i + 7);
      return out;
    }
    i += 2 + out.readUInt16BE(i + 2);
  }
  throw new Error("no frame header found in the JPEG");
}

/** A small valid PNG whose IHDR then declares width x height, with the chunk's CRC fixed. */
function pngDeclaring(width: number, height: number): Buffer {
  const image = new PNG({ width: 96, height: 80 });
  image.data.fill(128);
  const png = PNG.sync.write(image, { colorType: 0 });
  png.writeUInt32BE(width, 16);
  png.writeUInt32BE(height, 20);
  let crc = 0xffffffff;
  for (const byte of png.subarray(12, 29)) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  png.writeUInt32BE((crc ^ 0xffffffff) >>> 0, 29);
  return png;
}

async function buildCases(): Promise<{ valid: Case[]; hostile: Case[] }> {
  const valid: Case[] = [];
  for (const fixture of await xrayFixtures()) {
    const { body, contentType } = await imageForm(await readFile(fixture.path), fixture.name);
    valid.push({ name: `${fixture.label}/${fixture.name}`, kind: "valid", body, contentType, label: fixture.label });
  }
  const smallest = valid.reduce((a, b) => (a.body.length <= b.body.length ? a : b));
  const xray = await readFile((await xrayFixtures()).find((f) => smallest.name.endsWith(f.name))!.path);
  const text = await imageForm(Buffer.from("Patient notes, not an X-ray.\n"), "notes.txt", "file", "text/plain");
  const full = await imageForm(xray, "xray.jpeg");
  const manyParts = new FormData();
  for (let i = 0; i < 2000; i++) manyParts.append(`field${i}`, "x");
  const manyPartsRequest = new Request("http://127.0.0.1/", { method: "POST", body: manyParts });
  const huge = await imageForm(jpegDeclaring(xray, 60000, 60000), "huge.jpeg");
  const hugePng = await imageForm(pngDeclaring(20000, 20000), "huge.png", "file", "image/png");
  const elevenMb = await imageForm(Buffer.concat([xray, Buffer.alloc(11 * MB - xray.length)]), "big.jpeg");
  const hostile: Case[] = [
    { name: "text file", kind: "hostile", ...text, expected: { status: 415, code: "UNSUPPORTED_MEDIA_TYPE" } },
    { name: "empty form", kind: "hostile", body: Buffer.from("--b--\r\n"), contentType: "multipart/form-data; boundary=b", expected: { status: 400, code: "MISSING_FILE" } },
    { name: "truncated form", kind: "hostile", body: full.body.subarray(0, full.body.length >> 1), contentType: full.contentType, expected: { status: 400, code: "MALFORMED_FORM" } },
    { name: "JSON body", kind: "hostile", body: Buffer.from(JSON.stringify({ file: xray.subarray(0, 512).toString("base64") })), contentType: "application/json", expected: { status: 415, code: "UNSUPPORTED_MEDIA_TYPE" } },
    { name: "wrong boundary", kind: "hostile", body: full.body, contentType: "multipart/form-data; boundary=not-the-boundary-of-this-body", expected: { status: 400, code: "MALFORMED_FORM" } },
    {
      name: "2000-part form",
      kind: "hostile",
      body: Buffer.from(await manyPartsRequest.arrayBuffer()),
      contentType: manyPartsRequest.headers.get("content-type")!,
      expected: { status: 413, code: "TOO_MANY_PARTS" },
    },
    { name: "JPEG declaring 60000x60000", kind: "hostile", ...huge, expected: { status: 413, code: "IMAGE_TOO_LARGE" } },
    { name: "11 MB body", kind: "hostile", ...elevenMb, expected: { status: 413, code: "PAYLOAD_TOO_LARGE" } },
    { name: "PNG declaring 20000x20000", kind: "hostile", ...hugePng, expected: { status: 413, code: "IMAGE_TOO_LARGE" } },
  ];
  if (elevenMb.body.length <= FORM_LIMITS.maxBodyBytes) throw new Error("the 11 MB body is not over the limit");
  return { valid, hostile };
}

/**
 * POSTs one body with node:http. An answer counts once its status line arrives: the front answers 413 to
 * an oversized body and closes the connection while the client is still sending, so a write error after
 * the answer is expected and ignored.
 */
function post(url: URL, agent: Agent, c: Case): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let answered = false;
    // Large bodies go as curl sends them, asking first (Expect: 100-continue), so a refusal comes before the body.
    const asksFirst = c.body.length > EXPECT_CONTINUE_ABOVE_BYTES;
    const headers = { "content-type": c.contentType, "content-length": c.body.length, ...(asksFirst && { expect: "100-continue" }) };
    const request = httpRequest(url, { method: "POST", agent, headers }, (response) => {
      answered = true;
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8"), ms: performance.now() - started }));
      response.on("error", reject);
      response.on("aborted", () => reject(new Error("the answer was cut off")));
    });
    request.setTimeout(requestTimeoutMs, () => request.destroy(new Error(`no answer within ${requestTimeoutMs / 1000} s`)));
    request.on("error", (error) => {
      if (!answered) reject(error);
    });
    if (asksFirst) request.once("continue", () => request.end(c.body));
    else request.end(c.body);
  });
}

/** Whether an answer is what the case requires; undefined when it is, else what is wrong. */
function check(c: Case, answer: Answer): string | undefined {
  let json: { prediction?: string; probability?: number; probabilities?: Record<string, number>; error?: { code?: string } };
  try {
    json = JSON.parse(answer.body);
  } catch {
    return `status ${answer.status}, body is not JSON: ${answer.body.slice(0, 120)}`;
  }
  if (c.kind === "hostile") {
    const { status, code } = c.expected!;
    if (answer.status !== status || json.error?.code !== code) return `expected ${status} ${code}, got ${answer.status} ${json.error?.code}`;
    return undefined;
  }
  if (answer.status !== 200) return `expected 200, got ${answer.status} ${json.error?.code}: ${JSON.stringify(json.error ?? json).slice(0, 160)}`;
  if (typeof json.prediction !== "string" || typeof json.probability !== "number") return `200 without prediction and probability: ${answer.body.slice(0, 160)}`;
  if (!c.reference) {
    c.reference = { prediction: json.prediction, probability: json.probability };
    return undefined;
  }
  if (json.prediction !== c.reference.prediction) return `prediction ${json.prediction}, reference ${c.reference.prediction}`;
  if (Math.abs(json.probability - c.reference.probability) > 1e-6) return `probability ${json.probability}, reference ${c.reference.probability}`;
  return undefined;
}

function readStatus(pid: number): { rssMb: number; hwmMb: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN);
    return { rssMb: kb("VmRSS") / 1024, hwmMb: kb("VmHWM") / 1024 };
  } catch {
    return undefined;
  }
}


const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : "n/a");
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let api: LocalApiProcess | undefined;
let serverErrorLines = 0;
const serverTail: string[] = [];

async function stopServer(): Promise<void> {
  if (!api) return;
  const child = api.process;
  const stopping = api.stop();
  const killer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await stopping;
  clearTimeout(killer);
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    void stopServer().finally(() => process.exit(130));
  });
}

async function main(): Promise<number> {
  const started = performance.now();
  let pid = serverPid;
  let base: URL;
  if (serverUrl) {
    base = new URL(serverUrl);
  } else {
    // keepLogs: the soak reads the server's log lines below, which also keeps the pipe drained.
    api = await startServer(SERVER_ENTRIES.local, {}, { keepLogs: true });
    base = new URL(api.url);
    pid = api.process.pid;
    // Count the server's error-level log lines (5xx answers, crashes) and keep its last lines for the report.
    const watch = (chunk: Buffer) => {
      for (const line of chunk.toString("utf8").split("\n").filter(Boolean)) {
        if (/"level":"(ERROR|CRITICAL)"|Error:|at .*\(/.test(line)) serverErrorLines++;
        serverTail.push(line.slice(0, 300));
        if (serverTail.length > 5) serverTail.shift();
      }
    };
    api.process.stdout!.on("data", watch);
    api.process.stderr!.on("data", watch);
  }
  const url = new URL("/pneumonia_classifier", base);
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const { valid, hostile } = await buildCases();
  const lines: string[] = [];
  const say = (line: string) => {
    lines.push(line);
    console.error(`[soak] ${line}`);
  };
  say(`server ${base.origin}${pid ? ` (pid ${pid})` : ""}; ${valid.length} valid cases, ${hostile.length} hostile cases; node ${process.version}; code ${codeVersion()}`);

  // Pass 1: the reference answer of every fixture. Pass 2: every hostile case once, against its expected answer.
  const setupFailures: string[] = [];
  for (const c of valid) {
    const answer = await post(url, agent, c).catch((error: Error) => error);
    const problem = answer instanceof Error ? `no answer: ${answer.message}` : check(c, answer);
    if (problem) setupFailures.push(`${c.name}: ${problem}`);
  }
  const agree = valid.filter((c) => c.reference?.prediction === c.label).length;
  say(`reference answers: ${valid.filter((c) => c.reference).length}/${valid.length} (${agree}/${valid.length} agree with their folder label)`);
  for (const c of valid) say(`  ${c.name}: ${c.reference ? `${c.reference.prediction} ${c.reference.probability}` : "NO REFERENCE"}`);
  for (const c of hostile) {
    const answer = await post(url, agent, c).catch((error: Error) => error);
    const actual = answer instanceof Error ? `no answer (${answer.message})` : `${answer.status} ${(() => {
      try {
        return JSON.parse(answer.body).error?.code;
      } catch {
        return "(not JSON)";
      }
    })()}`;
    const problem = answer instanceof Error ? `no answer: ${answer.message}` : check(c, answer);
    if (problem) setupFailures.push(`${c.name}: ${problem}`);
    say(`  hostile "${c.name}" (${(c.body.length / 1024).toFixed(0)} KiB): expected ${c.expected!.status} ${c.expected!.code}, got ${actual}${problem ? "  <-- MISMATCH" : ""}`);
  }
  // Warm-up: one more round of everything, so the start RSS is read from a server that has seen each kind.
  for (const c of [...valid, ...hostile]) await post(url, agent, c).catch(() => undefined);

  // The steady phase: a fixed schedule, every hostile-every-th request hostile, at most `rate` a second
  // and `concurrency` at once (a tick is skipped, not queued, when all slots are busy).
  const samples: { t: number; rssMb: number }[] = [];
  const sample = () => {
    if (pid === undefined) return;
    const status = readStatus(pid);
    if (status) samples.push({ t: performance.now(), rssMb: status.rssMb });
  };
  sample();
  const sampler = setInterval(sample, sampleSeconds * 1000);
  const stats = {
    valid: { sent: 0, ok: 0, failed: 0, latencies: [] as number[] },
    hostile: { sent: 0, ok: 0, failed: 0, latencies: [] as number[] },
  };
  const byCase = new Map<string, { sent: number; ok: number; latencies: number[] }>();
  const failures: string[] = [];
  const networkErrors = new Map<string, number>();
  let inFlight = 0;
  let skippedTicks = 0;
  let wake: (() => void) | undefined;
  const running = new Set<Promise<void>>();
  let validIndex = 0;
  let hostileIndex = 0;
  const steadyStart = performance.now();

  const progress = setInterval(() => {
    const rss = pid !== undefined ? readStatus(pid)?.rssMb : undefined;
    console.error(
      `[soak] ${fmt((performance.now() - steadyStart) / 1000, 0)} s: valid ${stats.valid.sent} sent, ${stats.valid.ok} ok, ${stats.valid.failed} failed; hostile ${stats.hostile.sent} sent, ${stats.hostile.ok} ok, ${stats.hostile.failed} failed; ${inFlight} in flight; server RSS ${fmt(rss ?? NaN, 0)} MB`,
    );
  }, 30_000);
  const dispatch = (c: Case) => {
    const stat = stats[c.kind];
    stat.sent++;
    const perCase = byCase.get(c.name) ?? { sent: 0, ok: 0, latencies: [] };
    byCase.set(c.name, perCase);
    perCase.sent++;
    inFlight++;
    const job = post(url, agent, c)
      .then(
        (answer) => {
          stat.latencies.push(answer.ms);
          perCase.latencies.push(answer.ms);
          const problem = check(c, answer);
          if (problem) {
            stat.failed++;
            if (failures.length < 20) failures.push(`${c.kind} "${c.name}": ${problem}`);
          } else {
            stat.ok++;
            perCase.ok++;
          }
        },
        (error: Error & { code?: string }) => {
          stat.failed++;
          const key = `${c.kind} "${c.name}": ${error.code ?? error.message}`;
          networkErrors.set(key, (networkErrors.get(key) ?? 0) + 1);
        },
      )
      .finally(() => {
        inFlight--;
        running.delete(job);
        wake?.();
      });
    running.add(job);
  };

  const deadline = steadyStart + seconds * 1000;
  const interval = 1000 / rate;
  let next = steadyStart;
  let slot = 0;
  while (performance.now() < deadline) {
    const wait = next - performance.now();
    if (wait > 0) await sleep(wait);
    next += interval;
    if (performance.now() >= deadline) break;
    if (inFlight >= concurrency) {
      skippedTicks++;
      await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
      if (next < performance.now() - interval) next = performance.now(); // no burst to catch up
      continue;
    }
    slot++;
    dispatch(slot % hostileEvery === 0 ? hostile[hostileIndex++ % hostile.length]! : valid[validIndex++ % valid.length]!);
  }
  await Promise.all([...running]);
  clearInterval(progress);
  const steadySeconds = (performance.now() - steadyStart) / 1000;
  clearInterval(sampler);
  sample();

  // The server must still be up and healthy.
  let healthStatus = 0;
  try {
    healthStatus = (await fetch(new URL("/health", base))).status;
  } catch {
    healthStatus = 0;
  }
  const alive = api ? api.process.exitCode === null && api.process.signalCode === null : true;
  const final = pid !== undefined ? readStatus(pid) : undefined;
  agent.destroy();

  // Report.
  const quarter = Math.max(1, Math.floor(samples.length / 4));
  const mean = (xs: { rssMb: number }[]) => xs.reduce((s, x) => s + x.rssMb, 0) / xs.length;
  const firstQuarter = samples.length > 0 ? mean(samples.slice(0, quarter)) : NaN;
  const lastQuarter = samples.length > 0 ? mean(samples.slice(-quarter)) : NaN;
  const peakSampled = samples.reduce((m, s) => Math.max(m, s.rssMb), 0);
  const v = stats.valid;
  const h = stats.hostile;
  say("");
  say(`soak summary: ${fmt(steadySeconds)} s steady phase (asked ${seconds} s) at up to ${rate} req/s and ${concurrency} in flight; ${fmt((v.sent + h.sent) / steadySeconds)} req/s achieved, ${skippedTicks} ticks skipped (all slots busy); ${fmt((performance.now() - started) / 1000)} s in all`);
  say(`  setup: ${valid.length} reference answers + ${hostile.length} hostile checks + 1 warm-up round; problems: ${setupFailures.length === 0 ? "none" : setupFailures.join("; ")}`);
  say(`  valid: ${v.sent} sent, ${v.ok} answered correctly (200, same prediction, probability within 1e-6 of the reference), ${v.failed} failed`);
  say(`    latency p50 ${fmt(quantile(v.latencies, 0.5))} ms, p99 ${fmt(quantile(v.latencies, 0.99))} ms, max ${fmt(quantile(v.latencies, 1))} ms`);
  say(`  hostile: ${h.sent} sent, ${h.ok} got the expected status and code, ${h.failed} mismatches or no answer`);
  say(`    latency p50 ${fmt(quantile(h.latencies, 0.5))} ms, p99 ${fmt(quantile(h.latencies, 0.99))} ms, max ${fmt(quantile(h.latencies, 1))} ms`);
  for (const c of hostile) {
    const s = byCase.get(c.name);
    say(`    ${c.expected!.status} ${c.expected!.code.padEnd(22)} "${c.name}": ${s?.ok ?? 0}/${s?.sent ?? 0} as expected, p50 ${fmt(quantile(s?.latencies ?? [], 0.5))} ms, p99 ${fmt(quantile(s?.latencies ?? [], 0.99))} ms`);
  }
  say(`  network errors (no answer): ${networkErrors.size === 0 ? "none" : [...networkErrors.entries()].map(([k, n]) => `${k} x${n}`).join("; ")}`);
  if (failures.length > 0) say(`  failures (first ${failures.length}): ${failures.join(" | ")}`);
  if (pid !== undefined) {
    say(
      `  server RSS (VmRSS, every ${sampleSeconds} s, ${samples.length} samples): start ${fmt(samples[0]?.rssMb ?? NaN)} MB (after warm-up), end ${fmt(samples.at(-1)?.rssMb ?? NaN)} MB, peak ${fmt(peakSampled)} MB sampled, VmHWM ${fmt(final?.hwmMb ?? NaN)} MB`,
      );
    say(`    trend: first-quarter average ${fmt(firstQuarter)} MB, last-quarter average ${fmt(lastQuarter)} MB (${lastQuarter >= firstQuarter ? "+" : ""}${fmt(lastQuarter - firstQuarter)} MB, ${fmt(((lastQuarter - firstQuarter) / firstQuarter) * 100)} %)`);
  } else {
    say("  server RSS: not measured (pass --pid with --url)");
  }
  say(`  server after the run: /health ${healthStatus}, process ${alive ? "alive" : "EXITED"}${api ? `, error-level log lines ${serverErrorLines}` : ""}`);
  if (serverErrorLines > 0) say(`    last server lines: ${serverTail.join(" | ")}`);

  const failed = setupFailures.length > 0 || v.failed > 0 || h.failed > 0 || v.sent === 0 || healthStatus !== 200 || !alive;
  say(`  result: ${failed ? "FAIL" : "PASS"}`);
  console.log(lines.join("\n"));
  return failed ? 1 : 0;
}

let code = 1;
try {
  code = await main();
} catch (error) {
  console.error(error);
} finally {
  await stopServer();
}
process.exit(code);
