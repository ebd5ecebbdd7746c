import { deflateSync } from "node:zlib";
import { exifOrientationSegment } from "./jpeg-segments.js";
import { concat, hex, INTERESTING_8, INTERESTING_32, INTERESTING_DIMENSIONS } from "./mutator.js";
import type { Mutator } from "./mutator.js";
import { fixCrc, pngChunk, pngChunks } from "./png-chunks.js";

/** Mutations that know PNG structure: chunk lengths, IHDR fields, extra, dropped or repeated chunks, a zlib bomb. */
export const pngMutators: Record<string, Mutator> = {
  "png-length"(input, rng) {
    const chunks = pngChunks(input.bytes);
    if (chunks.length === 0) return undefined;
    const chunk = rng.pick(chunks);
    const b = Buffer.from(input.bytes);
    const value = rng.chance(0.7) ? rng.pick(INTERESTING_32) : Math.max(0, chunk.length + rng.between(-4, 4));
    b.writeUInt32BE(value >>> 0, chunk.offset);
    input.bytes = b;
    return `png-length ${chunk.type}@${chunk.offset}=${hex(value >>> 0, 8)}`;
  },
  "png-ihdr"(input, rng) {
    const ihdr = pngChunks(input.bytes).find((c) => c.type === "IHDR");
    if (!ihdr || ihdr.offset + 25 > input.bytes.length) return undefined;
    const b = Buffer.from(input.bytes);
    const data = ihdr.offset + 8;
    let what: string;
    const field = rng.int(4);
    if (field === 0) {
      const [w, h] = rng.chance(0.7) ? rng.pick(INTERESTING_DIMENSIONS) : [rng.pick(INTERESTING_32), rng.pick(INTERESTING_32)];
      b.writeUInt32BE(w >>> 0, data);
      b.writeUInt32BE(h >>> 0, data + 4);
      what = `dims ${w >>> 0}x${h >>> 0}`;
    } else if (field === 1) {
      const depth = rng.pick([0, 1, 2, 4, 8, 16, 3, 32, 255]);
      b[data + 8] = depth;
      what = `depth=${depth}`;
    } else if (field === 2) {
      const colour = rng.pick([0, 1, 2, 3, 4, 5, 6, 7, 255]);
      b[data + 9] = colour;
      what = `colour=${colour}`;
    } else {
      const at = rng.pick([10, 11, 12]);
      const value = rng.pick([0, 1, 2, 255]);
      b[data + at] = value;
      what = `${["compression", "filter", "interlace"][at - 10]}=${value}`;
    }
    const fixed = rng.chance(0.8);
    if (fixed) fixCrc(b, ihdr);
    input.bytes = b;
    return `png-ihdr ${what}${fixed ? "" : " (bad crc)"}`;
  },
  "png-chunks"(input, rng) {
    const chunks = pngChunks(input.bytes);
    if (chunks.length === 0) return undefined;
    const b = Buffer.from(input.bytes);
    const choice = rng.int(5);
    const chunk = rng.pick(chunks);
    const whole = b.subarray(chunk.offset, Math.min(b.length, chunk.offset + 12 + chunk.length));
    if (choice === 0) {
      const times = rng.between(1, 32);
      input.bytes = concat(b.subarray(0, chunk.offset), ...Array<Uint8Array>(times + 1).fill(whole), b.subarray(chunk.offset + whole.length));
      return `png-dup ${chunk.type} x${times}`;
    }
    if (choice === 1) {
      input.bytes = concat(b.subarray(0, chunk.offset), b.subarray(chunk.offset + whole.length));
      return `png-drop ${chunk.type}`;
    }
    if (choice === 2) {
      // An IDAT holding a deflate stream that inflates to far more than the image needs (a zlib bomb).
      const bomb = deflateSync(Buffer.alloc(rng.pick([1, 16, 64]) * 2 ** 20));
      const idat = chunks.find((c) => c.type === "IDAT") ?? chunk;
      input.bytes = concat(b.subarray(0, idat.offset), pngChunk("IDAT", bomb), b.subarray(idat.offset + 12 + idat.length));
      return `png-zlib-bomb ${bomb.length}B`;
    }
    if (choice === 3) {
      const extra = rng.pick<[string, Uint8Array]>([
        ["PLTE", rng.bytes(rng.pick([0, 3, 768, 771]))],
        ["tRNS", rng.bytes(rng.between(0, 300))],
        ["IEND", new Uint8Array(0)],
        ["gAMA", Uint8Array.from([0, 0, 0, 0])],
        ["iCCP", concat(new TextEncoder().encode("icc\0\0"), deflateSync(rng.bytes(100)))],
        ["zTXt", concat(new TextEncoder().encode("k\0\0"), deflateSync(Buffer.alloc(4 * 2 ** 20)))],
        ["pHYs", rng.bytes(9)],
        ["IHDR", rng.bytes(13)],
        ["eXIf", exifOrientationSegment(6).subarray(10)],
        ["acTL", rng.bytes(8)],
      ]);
      const at = rng.pick(chunks).offset;
      input.bytes = concat(b.subarray(0, at), pngChunk(extra[0], extra[1]), b.subarray(at));
      return `png-insert ${extra[0]}(${extra[1].length}B)@${at}`;
    }
    // Change bytes inside a chunk's data and fix its CRC, so the decoder sees the change.
    const count = rng.between(1, 6);
    for (let k = 0; k < count && chunk.length > 0; k++) {
      const at = chunk.offset + 8 + rng.int(chunk.length);
      if (at < b.length) b[at] = rng.chance(0.5) ? rng.pick(INTERESTING_8) : rng.int(256);
    }
    fixCrc(b, chunk);
    input.bytes = b;
    return `png-data ${chunk.type} x${count}`;
  },
};
