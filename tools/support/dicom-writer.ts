import { deflateRawSync } from "node:zlib";

/** The value of one element: text, numbers (US, SS, UL, FL, FD), raw bytes or words, encapsulated fragments, or sequence items. */
export type DicomValue = string | number[] | Uint8Array | Uint16Array | { fragments: Uint8Array[] } | { items: DicomElement[][] };

/** One data element to write; `tag` as 0xGGGGEEEE. */
export interface DicomElement {
  tag: number;
  vr: string;
  value: DicomValue;
  /** Write the element (a sequence, its items, or OB/OW/UN bytes) with undefined length and delimiters. */
  undefinedLength?: boolean;
}

/** How the file is laid out. */
export interface DicomFileOptions {
  /** @default "1.2.840.10008.1.2.1" Explicit VR Little Endian */
  transferSyntax?: string;
  /** A 128-byte preamble, "DICM" and file meta information; false writes a bare dataset. @default true */
  part10?: boolean;
  /** A value length to write in place of the true one, for hostile files: tag -> length. */
  lyingLengths?: Map<number, number>;
}

const IMPLICIT = "1.2.840.10008.1.2";
const BIG_ENDIAN = "1.2.840.10008.1.2.2";
const DEFLATED = "1.2.840.10008.1.2.1.99";
const LONG_VRS = new Set(["OB", "OD", "OF", "OL", "OV", "OW", "SQ", "UC", "UR", "UT", "UN"]);
const UNDEFINED = 0xffffffff;

interface Encoding {
  implicit: boolean;
  littleEndian: boolean;
  lyingLengths: Map<number, number>;
}

class ByteWriter {
  private readonly chunks: Buffer[] = [];
  constructor(private readonly littleEndian: boolean) {}
  u16(value: number) {
    const b = Buffer.alloc(2);
    if (this.littleEndian) b.writeUInt16LE(value);
    else b.writeUInt16BE(value);
    this.chunks.push(b);
  }
  u32(value: number) {
    const b = Buffer.alloc(4);
    if (this.littleEndian) b.writeUInt32LE(value >>> 0);
    else b.writeUInt32BE(value >>> 0);
    this.chunks.push(b);
  }
  bytes(value: Uint8Array) {
    this.chunks.push(Buffer.from(value));
  }
  tag(tag: number) {
    this.u16(tag >>> 16);
    this.u16(tag & 0xffff);
  }
  done(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

function padded(bytes: Uint8Array, pad: number): Uint8Array {
  return bytes.length % 2 === 0 ? bytes : Buffer.concat([bytes, Buffer.from([pad])]);
}

/** The value's bytes as the encoding stores them (sequences and fragments are written by writeElement). */
function valueBytes(vr: string, value: DicomValue, littleEndian: boolean): Uint8Array {
  if (typeof value === "string") return padded(Buffer.from(value, "latin1"), vr === "UI" || vr === "OB" ? 0 : 0x20);
  if (value instanceof Uint16Array) {
    const out = Buffer.alloc(value.length * 2);
    value.forEach((word, i) => (littleEndian ? out.writeUInt16LE(word, 2 * i) : out.writeUInt16BE(word, 2 * i)));
    return out;
  }
  if (value instanceof Uint8Array) return padded(value, 0);
  if (Array.isArray(value)) {
    const size = vr === "UL" || vr === "SL" || vr === "FL" ? 4 : vr === "FD" ? 8 : 2;
    const out = Buffer.alloc(value.length * size);
    value.forEach((n, i) => {
      const at = i * size;
      const le = littleEndian;
      if (vr === "SS") le ? out.writeInt16LE(n, at) : out.writeInt16BE(n, at);
      else if (vr === "UL") le ? out.writeUInt32LE(n, at) : out.writeUInt32BE(n, at);
      else if (vr === "SL") le ? out.writeInt32LE(n, at) : out.writeInt32BE(n, at);
      else if (vr === "FL") le ? out.writeFloatLE(n, at) : out.writeFloatBE(n, at);
      else if (vr === "FD") le ? out.writeDoubleLE(n, at) : out.writeDoubleBE(n, at);
      else le ? out.writeUInt16LE(n, at) : out.writeUInt16BE(n, at);
    });
    return out;
  }
  throw new Error(`${vr}: sequences and fragments have no plain value`);
}

function writeHeader(out: ByteWriter, element: DicomElement, length: number, encoding: Encoding) {
  out.tag(element.tag);
  const written = encoding.lyingLengths.get(element.tag) ?? length;
  if (encoding.implicit) return out.u32(written);
  out.bytes(Buffer.from(element.vr, "latin1"));
  if (LONG_VRS.has(element.vr)) {
    out.u16(0);
    out.u32(written);
  } else out.u16(written);
}

function writeItem(out: ByteWriter, content: Uint8Array, undefinedLength: boolean) {
  out.tag(0xfffee000);
  out.u32(undefinedLength ? UNDEFINED : content.length);
  out.bytes(content);
  if (undefinedLength) {
    out.tag(0xfffee00d);
    out.u32(0);
  }
}

function writeElement(out: ByteWriter, element: DicomElement, encoding: Encoding) {
  const { value } = element;
  if (typeof value === "object" && "fragments" in value) {
    writeHeader(out, element, UNDEFINED, encoding);
    writeItem(out, new Uint8Array(0), false); // empty basic offset table
    for (const fragment of value.fragments) writeItem(out, padded(fragment, 0), false);
    out.tag(0xfffee0dd);
    out.u32(0);
    return;
  }
  if (typeof value === "object" && "items" in value) {
    const items = value.items.map((item) => writeDataset(item, encoding));
    const body = new ByteWriter(encoding.littleEndian);
    for (const item of items) writeItem(body, item, element.undefinedLength ?? false);
    const content = body.done();
    writeHeader(out, element, element.undefinedLength ? UNDEFINED : content.length, encoding);
    out.bytes(content);
    if (element.undefinedLength) {
      out.tag(0xfffee0dd);
      out.u32(0);
    }
    return;
  }
  const bytes = valueBytes(element.vr, value, encoding.littleEndian);
  writeHeader(out, element, bytes.length, encoding);
  out.bytes(bytes);
}

function writeDataset(elements: readonly DicomElement[], encoding: Encoding): Buffer {
  const out = new ByteWriter(encoding.littleEndian);
  for (const element of [...elements].sort((a, b) => a.tag - b.tag)) writeElement(out, element, encoding);
  return out.done();
}

/**
 * Writes a DICOM file (PS3.10) or a bare dataset from elements, in any of the uncompressed transfer syntaxes
 * (implicit or explicit VR, little or big endian, deflated) or with encapsulated fragments: for tests, the
 * fuzzer's seeds and wrapping X-rays as DICOM. It checks nothing, so hostile files are as easy as valid ones.
 */
export function writeDicom(elements: readonly DicomElement[], options: DicomFileOptions = {}): Buffer {
  const transferSyntax = options.transferSyntax ?? "1.2.840.10008.1.2.1";
  const encoding: Encoding = {
    implicit: transferSyntax === IMPLICIT,
    littleEndian: transferSyntax !== BIG_ENDIAN,
    lyingLengths: options.lyingLengths ?? new Map(),
  };
  let dataset = writeDataset(elements, encoding);
  if (options.part10 === false) return dataset;
  if (transferSyntax === DEFLATED) dataset = deflateRawSync(dataset);
  const sopClass = elements.find((element) => element.tag === 0x00080016)?.value;
  const metaElements: DicomElement[] = [
    { tag: 0x00020001, vr: "OB", value: new Uint8Array([0, 1]) },
    { tag: 0x00020002, vr: "UI", value: typeof sopClass === "string" ? sopClass : "1.2.840.10008.5.1.4.1.1.1.1" },
    { tag: 0x00020003, vr: "UI", value: "1.2.826.0.1.3680043.10.1.1" },
    { tag: 0x00020010, vr: "UI", value: transferSyntax },
    { tag: 0x00020012, vr: "UI", value: "1.2.826.0.1.3680043.10.1.2" },
  ];
  const metaEncoding: Encoding = { implicit: false, littleEndian: true, lyingLengths: encoding.lyingLengths };
  const meta = writeDataset(metaElements, metaEncoding);
  const groupLength = writeDataset([{ tag: 0x00020000, vr: "UL", value: [meta.length] }], metaEncoding);
  return Buffer.concat([Buffer.alloc(128), Buffer.from("DICM", "latin1"), groupLength, meta, dataset]);
}

/** What a greyscale radiograph needs: the header of a DX image, pixel data aside. */
export interface RadiographOptions {
  rows: number;
  columns: number;
  bitsAllocated?: 8 | 16;
  bitsStored?: number;
  photometric?: "MONOCHROME1" | "MONOCHROME2";
  signed?: boolean;
  modality?: string;
  window?: { center: number; width: number };
  rescale?: { slope: number; intercept: number };
  /** Native words or bytes, or encapsulated fragments. */
  pixels: Uint8Array | Uint16Array | { fragments: Uint8Array[] };
  extra?: DicomElement[];
}

/** The elements of a single-frame greyscale radiograph, ready for writeDicom. */
export function radiographElements(options: RadiographOptions): DicomElement[] {
  const bitsAllocated = options.bitsAllocated ?? 8;
  const elements: DicomElement[] = [
    { tag: 0x00080016, vr: "UI", value: "1.2.840.10008.5.1.4.1.1.1.1" },
    { tag: 0x00080018, vr: "UI", value: "1.2.826.0.1.3680043.10.1.1" },
    { tag: 0x00080060, vr: "CS", value: options.modality ?? "DX" },
    { tag: 0x00100010, vr: "PN", value: "Test^Patient" },
    { tag: 0x00280002, vr: "US", value: [1] },
    { tag: 0x00280004, vr: "CS", value: options.photometric ?? "MONOCHROME2" },
    { tag: 0x00280010, vr: "US", value: [options.rows] },
    { tag: 0x00280011, vr: "US", value: [options.columns] },
    { tag: 0x00280100, vr: "US", value: [bitsAllocated] },
    { tag: 0x00280101, vr: "US", value: [options.bitsStored ?? bitsAllocated] },
    { tag: 0x00280102, vr: "US", value: [(options.bitsStored ?? bitsAllocated) - 1] },
    { tag: 0x00280103, vr: "US", value: [options.signed ? 1 : 0] },
    { tag: 0x7fe00010, vr: bitsAllocated === 16 && !("fragments" in options.pixels) ? "OW" : "OB", value: options.pixels },
  ];
  if (options.window) {
    elements.push({ tag: 0x00281050, vr: "DS", value: String(options.window.center) }, { tag: 0x00281051, vr: "DS", value: String(options.window.width) });
  }
  if (options.rescale) {
    elements.push({ tag: 0x00281052, vr: "DS", value: String(options.rescale.intercept) }, { tag: 0x00281053, vr: "DS", value: String(options.rescale.slope) });
  }
  return [...elements, ...(options.extra ?? [])];
}
