import { FORM_LIMITS, IMAGE_LIMITS } from "../../lambda/core/limits.js";
import { byteMutators } from "./byte-mutators.js";
import { formMutators } from "./form-mutators.js";
import { jpegMutators } from "./jpeg-mutators.js";
import type { MutationContext, Mutator, Seed } from "./mutator.js";
import { pngMutators } from "./png-mutators.js";
import { dicomMutators } from "./dicom-mutators.js";
import type { FuzzInput, Target } from "./protocol.js";
import type { Random } from "./random.js";

/** Longest Content-Type a request can carry: Node's HTTP server refuses more than 16 KiB of headers in all. */
const MAX_CONTENT_TYPE = 8 * 1024;

// [name, mutation, weight]: a mutation is picked in proportion to its weight among those of its target.
const IMAGE_MUTATORS: [string, Mutator, number][] = [
  ...Object.entries(byteMutators).map(([name, m]) => [name, m, name === "splice" ? 1 : 2] as [string, Mutator, number]),
  ...Object.entries(jpegMutators).map(([name, m]) => [name, m, 3] as [string, Mutator, number]),
  ...Object.entries(pngMutators).map(([name, m]) => [name, m, 3] as [string, Mutator, number]),
];
const DICOM_MUTATORS: [string, Mutator, number][] = [
  ...Object.entries(byteMutators).map(([name, m]) => [name, m, name === "splice" ? 1 : 2] as [string, Mutator, number]),
  ...Object.entries(dicomMutators).map(([name, m]) => [name, m, 3] as [string, Mutator, number]),
];
const FORM_MUTATORS: [string, Mutator, number][] = [
  ...Object.entries(byteMutators).map(([name, m]) => [name, m, 2] as [string, Mutator, number]),
  ...Object.entries(formMutators).map(([name, m]) => [name, m, name === "content-type" ? 1 : 4] as [string, Mutator, number]),
];

function pickWeighted<T>(rng: Random, items: readonly T[], weight: (item: T) => number): T {
  const total = items.reduce((sum, item) => sum + weight(item), 0);
  let roll = rng.next() * total;
  for (const item of items) {
    roll -= weight(item);
    if (roll < 0) return item;
  }
  return items[items.length - 1]!;
}

/** One input: a seed of the target, with 1 to 4 stacked mutations (retried when a mutation does not apply). */
export function generate(rng: Random, iteration: number, target: Target, seeds: readonly Seed[]): FuzzInput {
  const pool = seeds.filter((s) => s.target === target);
  const seed = pickWeighted(rng, pool, (s) => s.weight);
  const input = { bytes: seed.bytes, contentType: seed.contentType };
  const ctx: MutationContext = { target, seeds: pool };
  const table = target === "image" ? IMAGE_MUTATORS : target === "dicom" ? DICOM_MUTATORS : FORM_MUTATORS;
  const wanted = rng.chance(0.5) ? 1 : rng.between(2, 4);
  const applied: string[] = [];
  for (let attempt = 0; applied.length < wanted && attempt < wanted * 4; attempt++) {
    const [, mutate] = pickWeighted(rng, table, ([, , w]) => w);
    const description = mutate(input, rng, ctx);
    if (description) applied.push(description);
  }
  // Keep to what can reach the function: API Gateway and the front refuse bodies over FORM_LIMITS.maxBodyBytes
  // (the parser never sees them) and Node refuses headers over 16 KiB; busboy caps the file at maxFileBytes.
  const cap = target === "multipart" ? FORM_LIMITS.maxBodyBytes : IMAGE_LIMITS.maxFileBytes;
  if (input.bytes.length > cap) {
    input.bytes = input.bytes.slice(0, cap); // a copy: postMessage would clone the whole buffer under a view
    applied.push(`cap@${cap}`);
  }
  if (input.contentType !== null && input.contentType.length > MAX_CONTENT_TYPE) {
    input.contentType = input.contentType.slice(0, MAX_CONTENT_TYPE);
    applied.push(`cap-content-type@${MAX_CONTENT_TYPE}`);
  }
  return { iteration, target, bytes: input.bytes, contentType: input.contentType, seed: seed.name, mutations: applied };
}
