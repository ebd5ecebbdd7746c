import { IMAGE_LIMITS } from "../../lambda/core/limits.js";
import type { Random } from "./random.js";
import type { Target } from "./protocol.js";

/** A mutation: changes a copy of the input (bytes and, for forms, the Content-Type) and names what it did. */
export type Mutator = (input: { bytes: Uint8Array; contentType: string | null }, rng: Random, ctx: MutationContext) => string | undefined;

/** What a mutation may use besides the input itself. */
export interface MutationContext {
  target: Target;
  /** Other seeds of the same target, for splicing. */
  seeds: readonly Seed[];
}

/** A well-formed input that mutations start from; weight sets how often it is picked against the others. */
export interface Seed {
  name: string;
  target: Target;
  bytes: Uint8Array;
  contentType: string | null;
  weight: number;
}

/** A position to change: forms are mostly changed where their structure is (start, end, part headers). */
export function position(bytes: Uint8Array, rng: Random, ctx: MutationContext, extra = 0): number {
  const n = bytes.length + extra;
  if (n <= 0) return 0;
  if (ctx.target === "multipart" && rng.chance(0.75)) {
    const head = Math.min(n, 600);
    const tail = Math.min(n, 300);
    return rng.chance(0.6) ? rng.int(head) : n - 1 - rng.int(tail);
  }
  return rng.int(n);
}

/** Byte values parsers treat specially: zero, sign and range edges, and the CR, LF, '-' and '"' of form syntax. */
export const INTERESTING_8 = [0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff, 0x10, 0x40, 0x20, 0x0d, 0x0a, 0x2d, 0x22];
/** 16-bit values written over lengths and sizes (JPEG segments or anywhere): small ones, a few sizes, the sign and range edges. */
export const INTERESTING_16 = [0x0000, 0x0001, 0x0002, 0x0003, 0x003f, 0x0040, 0x0041, 0x00ff, 0x0100, 0x0fff, 0x2ee0, 0x2ee1, 0x7fff, 0x8000, 0xfffe, 0xffff];
/** 32-bit values written over lengths and sizes (PNG chunks and IHDR or anywhere): small ones, a few sizes, the sign and range edges. */
export const INTERESTING_32 = [0x00000000, 0x00000001, 0x0000003f, 0x00000040, 0x00002ee0, 0x00002ee1, 0x00004e20, 0x0000ffff, 0x00010000, 0x00ffffff, 0x10000000, 0x7ffffffe, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];
/** Declared dimensions at and around IMAGE_LIMITS: the smallest side, the largest side, the pixel budget, the aspect ratio. */
export const INTERESTING_DIMENSIONS: readonly [number, number][] = (() => {
  const { minSide, maxSide, maxPixels, maxAspectRatio } = IMAGE_LIMITS;
  const square = Math.floor(Math.sqrt(maxPixels));
  const widest = Math.min(maxSide, Math.floor(Math.sqrt(maxPixels * maxAspectRatio)));
  return [
    [0, 0], [1, 1], [minSide - 1, minSide - 1], [minSide, minSide], [minSide, minSide * maxAspectRatio], [minSide, minSide * maxAspectRatio + 1],
    [maxSide, Math.floor(maxPixels / maxSide)], [maxSide, Math.floor(maxPixels / maxSide) + 1], [square, square], [square + 1, square + 1],
    [widest, Math.ceil(widest / maxAspectRatio)], [maxSide, maxSide], [maxSide + 1, Math.ceil((maxSide + 1) / maxAspectRatio)],
    [60000, 60000], [65535, 65535], [65535, 1], [4000, 1000], [3000, 3000],
  ];
})();

/** Joins byte arrays into one Buffer without copying each part first. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  return Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength)));
}

/** Text as raw bytes, one byte a character, as form bodies and headers are written on the wire. */
export const latin1 = (text: string) => Buffer.from(text, "latin1");

/** A number as 0x-prefixed hex, for mutation descriptions that name markers, lengths and values. */
export const hex = (n: number, width = 2) => `0x${n.toString(16).padStart(width, "0")}`;
