import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { FuzzInput, Target } from "./protocol.js";
import { MB } from "./worker-host.js";
import type { WorkerHost } from "./worker-host.js";

/** Runs one saved finding again in a fresh worker and prints what happens. */
export async function replay(host: WorkerHost, path: string, timeoutMs: number): Promise<void> {
  const description = JSON.parse(await readFile(path, "utf8")) as { target: Target; input: string; contentType: string | null; seed?: string; mutations?: string[]; history?: string };
  const bytes = await readFile(join(dirname(path), description.input));
  if (description.history) {
    // Replays first what the worker had run before the finding, in order.
    const order = JSON.parse(await readFile(join(description.history, "order.json"), "utf8")) as { file: string; target: Target; contentType: string | null }[];
    for (const earlier of order) {
      const input: FuzzInput = { iteration: -1, target: earlier.target, bytes: await readFile(join(description.history, earlier.file)), contentType: earlier.contentType, seed: "history", mutations: [] };
      await host.run(input, `history ${earlier.file}`);
    }
    console.error(`[fuzz] replayed ${order.length} earlier inputs from ${description.history}`);
  }
  const input: FuzzInput = { iteration: -1, target: description.target, bytes, contentType: description.contentType, seed: description.seed ?? "replay", mutations: description.mutations ?? [] };
  const outcome = await host.run(input, `replay ${path}`, Math.max(timeoutMs, 30_000));
  console.log(JSON.stringify({ replayed: path, target: input.target, bytes: bytes.length, peakRssMb: Math.round(host.inputPeakRss / MB), outcome }, null, 2));
  process.exitCode = outcome.type === "result" && outcome.verdict !== "crash" ? 0 : 1;
}
