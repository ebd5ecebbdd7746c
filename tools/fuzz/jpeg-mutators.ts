import { concat, hex, INTERESTING_8, INTERESTING_16, INTERESTING_DIMENSIONS } from "./mutator.js";
import type { Mutator } from "./mutator.js";
import { exifOrientationSegment, isSof, jpegSegments, sofSegment } from "./jpeg-segments.js";

/** Mutations that know JPEG structure: segment lengths, SOF fields, tables, extra segments, the entropy-coded scan. */
export const jpegMutators: Record<string, Mutator> = {
  "jpeg-length"(input, rng) {
    const segments = jpegSegments(input.bytes);
    if (segments.length === 0) return undefined;
    const segment = rng.pick(segments);
    const b = Buffer.from(input.bytes);
    const value = rng.chance(0.7) ? rng.pick(INTERESTING_16) : Math.max(0, Math.min(0xffff, segment.length + rng.between(-4, 4)));
    b.writeUInt16BE(value, segment.offset + 2);
    input.bytes = b;
    return `jpeg-length ${hex(segment.marker)}@${segment.offset}=${hex(value, 4)}`;
  },
  "jpeg-sof"(input, rng) {
    const sof = jpegSegments(input.bytes).find((s) => isSof(s.marker));
    if (!sof || sof.offset + 10 > input.bytes.length) return undefined;
    const b = Buffer.from(input.bytes);
    const field = rng.int(5);
    if (field === 0) {
      const [w, h] = rng.pick(INTERESTING_DIMENSIONS);
      const [width, height] = rng.chance(0.5) ? [w, h] : [h, w];
      b.writeUInt16BE(height, sof.offset + 5);
      b.writeUInt16BE(width, sof.offset + 7);
      input.bytes = b;
      return `jpeg-sof dims ${width}x${height}`;
    }
    if (field === 1) {
      const precision = rng.pick([0, 1, 8, 12, 16, 255]);
      b[sof.offset + 4] = precision;
      input.bytes = b;
      return `jpeg-sof precision=${precision}`;
    }
    if (field === 2) {
      const components = rng.pick([0, 1, 2, 3, 4, 5, 255]);
      b[sof.offset + 9] = components;
      input.bytes = b;
      return `jpeg-sof components=${components}`;
    }
    if (field === 3) {
      const marker = rng.pick([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xcf]);
      b[sof.offset + 1] = marker;
      input.bytes = b;
      return `jpeg-sof marker=${hex(marker)}`;
    }
    const at = sof.offset + 10 + rng.int(Math.max(1, sof.length - 8));
    if (at >= b.length) return undefined;
    const value = rng.pick([0x00, 0x11, 0x12, 0x21, 0x22, 0x44, 0x41, 0x14, 0x0f, 0xf0, 0xff, 0x03, 0x04]);
    b[at] = value;
    input.bytes = b;
    return `jpeg-sof component byte@${at}=${hex(value)}`;
  },
  "jpeg-marker"(input, rng) {
    const segments = jpegSegments(input.bytes);
    const b = Buffer.from(input.bytes);
    const choice = rng.int(5);
    if (choice === 0 && segments.length > 0) {
      const segment = rng.pick(segments);
      const marker = rng.int(256);
      b[segment.offset + 1] = marker;
      input.bytes = b;
      return `jpeg-marker ${hex(segment.marker)}->${hex(marker)}`;
    }
    if (choice === 1 && segments.length > 0) {
      // A table segment (DQT/DHT) with its counts or values set to extremes.
      const tables = segments.filter((s) => s.marker === 0xdb || s.marker === 0xc4 || s.marker === 0xdd || s.marker === 0xda);
      const segment = tables.length > 0 ? rng.pick(tables) : rng.pick(segments);
      const span = Math.max(1, Math.min(segment.length - 2, 40));
      const count = rng.between(1, 6);
      for (let k = 0; k < count; k++) {
        const at = segment.offset + 4 + rng.int(span);
        if (at < b.length) b[at] = rng.pick(INTERESTING_8);
      }
      input.bytes = b;
      return `jpeg-table ${hex(segment.marker)} x${count}`;
    }
    // Insert a whole extra segment before a random segment (or after SOI).
    const at = segments.length > 0 && rng.chance(0.8) ? rng.pick(segments).offset : 2;
    const extras: [string, Uint8Array][] = [
      ["DRI", Uint8Array.from([0xff, 0xdd, 0x00, 0x04, rng.int(256), rng.int(256)])],
      ["EOI", Uint8Array.from([0xff, 0xd9])],
      ["SOI", Uint8Array.from([0xff, 0xd8])],
      ["fill", new Uint8Array(rng.between(1, 64)).fill(0xff)],
      ["COM", concat(Uint8Array.from([0xff, 0xfe, 0x00, 0x12]), new TextEncoder().encode("fuzz-comment-16b"))],
      ["APP1-Exif-orientation", exifOrientationSegment(rng.pick([0, 1, 3, 5, 6, 8, 9, 255, 65535]))],
      ["APP2-big", concat(Uint8Array.from([0xff, 0xe2, 0xff, 0xff]), rng.bytes(0xfffd))],
      ["SOF-dup", sofSegment(rng.pick(INTERESTING_DIMENSIONS))],
      ["RST", Uint8Array.from([0xff, 0xd0 + rng.int(8)])],
    ];
    const [name, bytes] = rng.pick(extras);
    input.bytes = concat(b.subarray(0, at), bytes, b.subarray(at));
    return `jpeg-insert ${name}@${at}`;
  },
  "jpeg-scan"(input, rng) {
    // Corrupts entropy-coded data after SOS (markers and stuffing inside the scan).
    const sos = jpegSegments(input.bytes).find((s) => s.marker === 0xda);
    if (!sos) return undefined;
    const start = sos.offset + 2 + sos.length;
    if (start >= input.bytes.length - 2) return undefined;
    const b = Buffer.from(input.bytes);
    const count = rng.between(1, 8);
    for (let k = 0; k < count; k++) {
      const at = start + rng.int(b.length - 2 - start);
      const what = rng.int(3);
      if (what === 0) b[at] = 0xff;
      else if (what === 1 && at + 1 < b.length) {
        b[at] = 0xff;
        b[at + 1] = rng.pick([0xd0, 0xd3, 0xd7, 0xd9, 0xda, 0xc4, 0xdb, 0xdd, 0x01, 0xfe]);
      } else b[at] = rng.int(256);
    }
    input.bytes = b;
    return `jpeg-scan x${count}`;
  },
};
