import { concat, hex, INTERESTING_16, INTERESTING_32, INTERESTING_DIMENSIONS } from "./mutator.js";
import type { Mutator } from "./mutator.js";
import { dicomElements, type DicomElementAt } from "./dicom-elements.js";

/** Image attributes (group 0028) whose values a decoder sizes its buffers from. */
const IMAGE_TAGS: Record<string, readonly number[]> = {
  x00280002: [0, 1, 3, 4, 0xffff], // Samples per Pixel
  x00280100: [0, 1, 7, 8, 12, 16, 17, 32, 64, 0xffff], // Bits Allocated
  x00280101: [0, 1, 7, 8, 12, 15, 16, 17, 32, 0xffff], // Bits Stored
  x00280102: [0, 7, 11, 15, 16, 31, 0xffff], // High Bit
  x00280103: [0, 1, 2, 0xffff], // Pixel Representation
};
const UNDEFINED_LENGTH = 0xffffffff;
const TRANSFER_SYNTAXES = ["1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2", "1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70", "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.5", "1.2.840.10008.1.2.4.201"];

function writeUint(b: Buffer, offset: number, bytes: 2 | 4, value: number, littleEndian: boolean) {
  if (!Number.isInteger(offset) || offset < 0 || offset + bytes > b.length) return;
  if (bytes === 2) (littleEndian ? b.writeUInt16LE(value & 0xffff, offset) : b.writeUInt16BE(value & 0xffff, offset));
  else littleEndian ? b.writeUInt32LE(value >>> 0, offset) : b.writeUInt32BE(value >>> 0, offset);
}

const find = (elements: DicomElementAt[], tag: string) => elements.find((element) => element.tag === tag);

/** An element header (tag, explicit VR, length) for inserted structures, little-endian explicit VR. */
function header(group: number, element: number, vr: string | null, length: number): Uint8Array {
  const b = Buffer.alloc(vr ? 12 : 8);
  b.writeUInt16LE(group, 0);
  b.writeUInt16LE(element, 2);
  if (!vr) b.writeUInt32LE(length >>> 0, 4);
  else {
    b.write(vr, 4, "latin1");
    b.writeUInt32LE(length >>> 0, 8);
  }
  return b;
}

/** Mutations that know DICOM structure: element lengths (lying, undefined), image attributes, fragments, nesting, syntax, codec frame headers. */
export const dicomMutators: Record<string, Mutator> = {
  "dicom-length"(input, rng) {
    const elements = dicomElements(input.bytes);
    if (elements.length === 0) return undefined;
    const element = rng.pick(elements);
    const b = Buffer.from(input.bytes);
    const value =
      element.lengthBytes === 4 && rng.chance(0.3) ? UNDEFINED_LENGTH : rng.chance(0.6) ? rng.pick(element.lengthBytes === 2 ? INTERESTING_16 : INTERESTING_32) : Math.max(0, element.length + rng.between(-8, 8));
    writeUint(b, element.lengthOffset, element.lengthBytes, value, element.littleEndian);
    input.bytes = b;
    return `dicom-length ${element.tag}=${hex(value >>> 0, 8)}`;
  },
  "dicom-dims"(input, rng) {
    const elements = dicomElements(input.bytes);
    const rows = find(elements, "x00280010");
    const columns = find(elements, "x00280011");
    if (!rows || !columns) return undefined;
    const b = Buffer.from(input.bytes);
    const [width, height] = rng.chance(0.7) ? rng.pick(INTERESTING_DIMENSIONS) : [rng.pick(INTERESTING_16), rng.pick(INTERESTING_16)];
    writeUint(b, rows.dataOffset, 2, height, rows.littleEndian);
    writeUint(b, columns.dataOffset, 2, width, columns.littleEndian);
    input.bytes = b;
    return `dicom-dims ${width & 0xffff}x${height & 0xffff}`;
  },
  "dicom-image-attribute"(input, rng) {
    const elements = dicomElements(input.bytes).filter((element) => element.tag in IMAGE_TAGS && element.length >= 2);
    if (elements.length === 0) return undefined;
    const element = rng.pick(elements);
    const value = rng.pick(IMAGE_TAGS[element.tag]!);
    const b = Buffer.from(input.bytes);
    writeUint(b, element.dataOffset, 2, value, element.littleEndian);
    input.bytes = b;
    return `dicom-attr ${element.tag}=${value}`;
  },
  "dicom-fragment"(input, rng) {
    const pixel = find(dicomElements(input.bytes), "x7fe00010");
    const fragments = pixel?.fragments ?? [];
    if (fragments.length === 0) return undefined;
    const b = Buffer.from(input.bytes);
    const fragment = rng.pick(fragments);
    const at = pixel!.dataOffset + 8 + fragment.position; // the fragment's value; its item length field is 4 bytes before
    const choice = rng.int(3);
    if (choice === 0) {
      const value = rng.pick(INTERESTING_32);
      writeUint(b, at - 4, 4, value, true);
      input.bytes = b;
      return `dicom-fragment-length @${at}=${hex(value, 8)}`;
    }
    if (choice === 1) {
      input.bytes = b.subarray(0, Math.min(b.length, at + rng.int(Math.max(1, fragment.length))));
      return `dicom-fragment-truncate @${at}`;
    }
    // The codec's own frame header: JPEG SOFn or JPEG-LS SOF55 height and width, or JPEG 2000 SIZ, to a large size.
    const frame = b.subarray(at, at + Math.min(fragment.length, 4096));
    const [width, height] = rng.pick(INTERESTING_DIMENSIONS);
    for (let i = 0; i + 9 < frame.length; i++) {
      if (frame[i] === 0xff && ((frame[i + 1]! >= 0xc0 && frame[i + 1]! <= 0xc3) || frame[i + 1] === 0xf7)) {
        frame.writeUInt16BE(height & 0xffff, i + 5);
        frame.writeUInt16BE(width & 0xffff, i + 7);
        input.bytes = b;
        return `dicom-codec-dims SOF ${width}x${height}`;
      }
      if (frame[i] === 0xff && frame[i + 1] === 0x51 && i + 14 < frame.length) {
        frame.writeUInt32BE(width >>> 0, i + 6);
        frame.writeUInt32BE(height >>> 0, i + 10);
        input.bytes = b;
        return `dicom-codec-dims SIZ ${width}x${height}`;
      }
    }
    return undefined;
  },
  "dicom-nested-sequence"(input, rng) {
    const pixel = find(dicomElements(input.bytes), "x7fe00010");
    if (!pixel || pixel.vr === undefined) return undefined;
    // A private sequence, nested `depth` times, every sequence and item of undefined length, before the pixel data.
    const depth = rng.pick([1, 8, 64, 512, 4096]);
    const open = concat(header(0x0009, 0x1010, "SQ", UNDEFINED_LENGTH), header(0xfffe, 0xe000, null, UNDEFINED_LENGTH));
    const close = concat(header(0xfffe, 0xe00d, null, 0), header(0xfffe, 0xe0dd, null, 0));
    const at = pixel.lengthOffset - 8;
    const closed = rng.chance(0.8);
    input.bytes = concat(input.bytes.subarray(0, at), ...Array<Uint8Array>(depth).fill(open), ...Array<Uint8Array>(closed ? depth : 0).fill(close), input.bytes.subarray(at));
    return `dicom-nest x${depth}${closed ? "" : " (unclosed)"}`;
  },
  "dicom-transfer-syntax"(input, rng) {
    const syntax = find(dicomElements(input.bytes), "x00020010");
    if (!syntax) return undefined;
    const uid = rng.pick(TRANSFER_SYNTAXES);
    const b = Buffer.from(input.bytes);
    b.fill(0, syntax.dataOffset, syntax.dataOffset + syntax.length);
    b.write(uid.slice(0, syntax.length), syntax.dataOffset, "latin1");
    input.bytes = b;
    return `dicom-syntax ${uid}`;
  },
};
