import { readFile, writeFile } from "node:fs/promises";
import { basename, extname, join } from "node:path";
import { overlayPng } from "./overlay.js";

/** One input's outcome: exactly one per file, a result or an error. */
export interface Row {
  file: string;
  prediction?: string;
  probabilityNormal?: number;
  probabilityPneumonia?: number;
  /** "primary" or "fallback": the route that gave the final answer. */
  route: "primary" | "fallback";
  status?: number;
  error?: string;
  /** The PNG written with --explain: the X-ray with the heatmap over it. */
  overlay?: string;
}

export interface ClientOptions {
  url: string;
  fallbackUrl?: string;
  apiKey?: string;
  /** Tries for 429, 503 and network errors: on the fallback route, or on the only route when there is none. */
  attempts: number;
  /** Milliseconds before the first retry; doubled each time, or Retry-After when the server says. */
  backoffMs: number;
  timeoutMs: number;
  /** A folder to write one overlay PNG per classified input to, asking the API for explain=true. @default - none */
  explainDir?: string;
}

/** Statuses after which the same request goes to the GPU route (README: fallback rule). */
const FALLBACK_STATUSES = (status: number) => status === 429 || status === 413 || status >= 500;
/** Statuses worth retrying on the same route. */
const RETRY_STATUSES = (status: number) => status === 429 || status === 503;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Attempt {
  status?: number;
  body?: {
    prediction?: string;
    probabilities?: { NORMAL: number; PNEUMONIA: number };
    explanation?: { heatmap: string };
    error?: { code: string; message: string };
  };
  retryAfterMs?: number;
  networkError?: string;
}

async function send(url: string, bytes: Buffer, name: string, options: ClientOptions): Promise<Attempt> {
  const form = new FormData();
  form.append("file", new Blob([bytes]), name);
  try {
    const response = await fetch(`${url.replace(/\/$/, "")}/pneumonia_classifier${options.explainDir ? "?explain=true" : ""}`, {
      method: "POST",
      body: form,
      headers: options.apiKey ? { "x-api-key": options.apiKey } : {},
      signal: AbortSignal.timeout(options.timeoutMs),
    });
    const retryAfter = Number(response.headers.get("retry-after"));
    const body = (await response.json().catch(() => undefined)) as Attempt["body"];
    return { status: response.status, body, retryAfterMs: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined };
  } catch (error) {
    return { networkError: (error as Error).cause ? String((error as Error).cause) : (error as Error).message };
  }
}

/** Tries one route up to `attempts` times, retrying 429, 503 and network errors with backoff. */
async function tryRoute(url: string, bytes: Buffer, name: string, options: ClientOptions, attempts = options.attempts): Promise<Attempt> {
  let attempt: Attempt = {};
  for (let i = 0; i < attempts; i++) {
    attempt = await send(url, bytes, name, options);
    const retry = attempt.networkError !== undefined || RETRY_STATUSES(attempt.status!);
    if (!retry || i === attempts - 1) break;
    await sleep(attempt.retryAfterMs ?? options.backoffMs * 2 ** i);
  }
  return attempt;
}

function toRow(file: string, route: Row["route"], attempt: Attempt): Row {
  if (attempt.status === 200 && attempt.body?.probabilities) {
    const { prediction, probabilities } = attempt.body;
    return { file, route, status: 200, prediction, probabilityNormal: probabilities.NORMAL, probabilityPneumonia: probabilities.PNEUMONIA };
  }
  const error = attempt.networkError ?? (attempt.body?.error ? `${attempt.body.error.code}: ${attempt.body.error.message}` : `HTTP ${attempt.status}`);
  return { file, route, status: attempt.status, error };
}

/** Overlay names taken in this run: inputs of the same name in different folders get -2, -3... */
const overlayNames = new Set<string>();

/** Writes the overlay of a classified row's X-ray to the explain folder; a failure becomes the row's error. */
async function writeOverlay(row: Row, bytes: Buffer, attempt: Attempt, folder: string): Promise<Row> {
  const heatmap = attempt.body?.explanation?.heatmap;
  if (row.error) return row;
  if (!heatmap) return { ...row, error: "the answer has no explanation: the API does not serve explain=true" };
  const stem = basename(row.file, extname(row.file));
  let name = `${stem}.png`;
  for (let n = 2; overlayNames.has(name); n++) name = `${stem}-${n}.png`;
  overlayNames.add(name);
  try {
    const overlay = join(folder, name);
    await writeFile(overlay, await overlayPng(bytes, heatmap));
    return { ...row, overlay };
  } catch (error) {
    return { ...row, error: `cannot write the overlay: ${(error as Error).message}` };
  }
}

/** Classifies one file, applying retries and the fallback rule, and writes its overlay with --explain; never throws. */
export async function classifyFile(file: string, options: ClientOptions): Promise<Row> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    return { file, route: "primary", error: `cannot read the file: ${(error as Error).message}` };
  }
  // With a fallback, a throttled or failing primary hands over at once (the fallback rule): retrying it
  // first would only add its backoff to every image while the Lambda route is throttled.
  const primary = await tryRoute(options.url, bytes, basename(file), options, options.fallbackUrl ? 1 : options.attempts);
  const fallBack = options.fallbackUrl && (primary.networkError !== undefined || FALLBACK_STATUSES(primary.status!));
  const [route, attempt] = fallBack ? (["fallback", await tryRoute(options.fallbackUrl!, bytes, basename(file), options)] as const) : (["primary", primary] as const);
  const row = toRow(file, route, attempt);
  return options.explainDir ? writeOverlay(row, bytes, attempt, options.explainDir) : row;
}
