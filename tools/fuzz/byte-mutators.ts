import { concat, INTERESTING_8, INTERESTING_16, INTERESTING_32, position } from "./mutator.js";
import type { Mutator } from "./mutator.js";

/** Format-blind mutations for images and forms alike: bit flips, inserts, deletes, duplication, truncation, splicing, interesting values. */
export const byteMutators: Record<string, Mutator> = {
  flip(input, rng, ctx) {
    if (input.bytes.length === 0) return undefined;
    const b = Uint8Array.from(input.bytes);
    const count = rng.between(1, 8);
    for (let k = 0; k < count; k++) b[position(b, rng, ctx)]! ^= 1 << rng.int(8);
    input.bytes = b;
    return `flip x${count}`;
  },
  insert(input, rng, ctx) {
    const at = position(input.bytes, rng, ctx, 1);
    const n = rng.between(1, 32);
    const fill = rng.chance(0.5) ? rng.bytes(n) : new Uint8Array(n).fill(rng.pick(INTERESTING_8));
    input.bytes = concat(input.bytes.subarray(0, at), fill, input.bytes.subarray(at));
    return `insert ${n}@${at}`;
  },
  delete(input, rng, ctx) {
    if (input.bytes.length < 2) return undefined;
    const at = position(input.bytes, rng, ctx);
    const n = Math.min(input.bytes.length - at, rng.chance(0.8) ? rng.between(1, 16) : rng.between(17, 4096));
    input.bytes = concat(input.bytes.subarray(0, at), input.bytes.subarray(at + n));
    return `delete ${n}@${at}`;
  },
  duplicate(input, rng, ctx) {
    if (input.bytes.length < 2) return undefined;
    const from = position(input.bytes, rng, ctx);
    const n = Math.min(input.bytes.length - from, rng.between(1, rng.chance(0.7) ? 256 : 8192));
    const chunk = input.bytes.slice(from, from + n);
    const times = rng.chance(0.8) ? 1 : rng.between(2, 64);
    const at = position(input.bytes, rng, ctx, 1);
    input.bytes = concat(input.bytes.subarray(0, at), ...Array<Uint8Array>(times).fill(chunk), input.bytes.subarray(at));
    return `duplicate ${n}x${times} ${from}->${at}`;
  },
  truncate(input, rng) {
    if (input.bytes.length === 0) return undefined;
    const at = rng.chance(0.3) ? input.bytes.length - rng.between(1, Math.min(64, input.bytes.length)) : rng.int(input.bytes.length);
    input.bytes = input.bytes.slice(0, at);
    return `truncate@${at}`;
  },
  splice(input, rng, ctx) {
    const other = rng.pick(ctx.seeds).bytes;
    if (input.bytes.length === 0 || other.length === 0) return undefined;
    const cutA = rng.int(input.bytes.length);
    const cutB = rng.int(other.length);
    input.bytes = concat(input.bytes.subarray(0, cutA), other.subarray(cutB));
    return `splice ${cutA}|${cutB}`;
  },
  interesting(input, rng, ctx) {
    if (input.bytes.length < 4) return undefined;
    const b = Buffer.from(input.bytes);
    const count = rng.between(1, 4);
    for (let k = 0; k < count; k++) {
      const width = rng.pick([1, 2, 4]);
      const at = Math.min(position(b, rng, ctx), b.length - width);
      if (width === 1) b[at] = rng.pick(INTERESTING_8);
      else if (width === 2) b[rng.chance(0.5) ? "writeUInt16BE" : "writeUInt16LE"](rng.pick(INTERESTING_16), at);
      else b[rng.chance(0.5) ? "writeUInt32BE" : "writeUInt32LE"](rng.pick(INTERESTING_32), at);
    }
    input.bytes = b;
    return `interesting x${count}`;
  },
};
