import { mkdir, writeFile } from "node:fs/promises";
import { createHash } from "node:crypto";
import { join } from "node:path";
import type { FuzzInput } from "./protocol.js";

/** Names a saved input after its content, so the same input found twice is written to the same file. */
const baseName = (input: FuzzInput, kind: string) =>
  `${input.target}-${kind}-${createHash("sha256").update(input.bytes).update(input.contentType ?? "").digest("hex").slice(0, 12)}`;

/** Writes findings under --out: each input as .bin with a JSON description that says how to replay it. */
export class FindingFiles {
  private constructor(
    readonly dir: string,
    private readonly rngSeed: number,
  ) {}

  /** Creates the folder first, so every later write can assume it. */
  static async open(dir: string, rngSeed: number): Promise<FindingFiles> {
    await mkdir(dir, { recursive: true });
    return new FindingFiles(dir, rngSeed);
  }

  /** Saves an input and its description (plus extra fields); resolves with the JSON's path. */
  async save(input: FuzzInput, kind: string, extra: Record<string, unknown>): Promise<string> {
    const name = baseName(input, kind);
    await writeFile(join(this.dir, `${name}.bin`), input.bytes);
    const json = {
      kind,
      target: input.target,
      input: `${name}.bin`,
      bytes: input.bytes.length,
      contentType: input.contentType,
      seed: input.seed,
      mutations: input.mutations,
      rngSeed: this.rngSeed,
      iteration: input.iteration,
      node: process.version,
      replay: `npm run fuzz -- --replay ${join(this.dir, `${name}.json`)}`,
      ...extra,
    };
    await writeFile(join(this.dir, `${name}.json`), `${JSON.stringify(json, null, 2)}\n`);
    return join(this.dir, `${name}.json`);
  }

  /** Saves the inputs a worker ran before a finding, in order, so the finding can be replayed with them. */
  async saveHistory(input: FuzzInput, before: FuzzInput[]): Promise<string> {
    const dir = join(this.dir, `${baseName(input, "history")}`);
    await mkdir(dir, { recursive: true });
    const order = [];
    for (const [k, earlier] of before.entries()) {
      const file = `${String(k).padStart(5, "0")}-${earlier.target}.bin`;
      await writeFile(join(dir, file), earlier.bytes);
      order.push({ file, target: earlier.target, contentType: earlier.contentType, iteration: earlier.iteration, seed: earlier.seed, mutations: earlier.mutations });
    }
    await writeFile(join(dir, "order.json"), `${JSON.stringify(order, null, 1)}\n`);
    return dir;
  }

  /** Saves every input since the last canary check that passed, since any of them may have broken the decoder. */
  async saveCanaryBatch(iteration: number, detail: string, inputs: readonly FuzzInput[]): Promise<string> {
    const batch = join(this.dir, `state-after-${this.rngSeed}-${iteration}`);
    await mkdir(batch, { recursive: true });
    for (const earlier of inputs) await writeFile(join(batch, `${earlier.iteration}-${earlier.target}.bin`), earlier.bytes);
    await writeFile(join(batch, "batch.json"), JSON.stringify({ detail, inputs: inputs.map((i) => ({ iteration: i.iteration, target: i.target, contentType: i.contentType, seed: i.seed, mutations: i.mutations })) }, null, 2));
    return batch;
  }
}
