import { inflateRawSync } from "node:zlib";
import dicomParser, { type DataSet, type Element } from "dicom-parser";
import { IMAGE_LIMITS } from "../limits.js";
import { UnsupportedDicomError, UnsupportedMediaTypeError, UnusableImageError } from "../errors.js";
import { hasDicomPreamble } from "./dicom-signature.js";
import { assertDimensionsWithinLimits } from "../model/assert-dimensions.js";
import { IMPLICIT_VR_LITTLE_ENDIAN, READ_TRANSFER_SYNTAX_NAMES, TRANSFER_SYNTAXES, describeTransferSyntax, type TransferSyntax } from "./transfer-syntaxes.js";

/** How stored values become what a viewer shows (PS3.3 C.11.2): the first window, a VOI LUT, or neither. */
export type VoiTransform =
  | { kind: "window"; center: number; width: number; fn: "LINEAR" | "LINEAR_EXACT" | "SIGMOID" }
  | { kind: "lut"; firstMapped: number; bits: number; data: Uint16Array }
  | { kind: "full-range" };

/**
 * A single-frame greyscale radiograph as its header describes it, checked before a pixel is decoded. Only the
 * fields a refusal or answer may repeat (modality, photometric interpretation, bits stored, transfer syntax)
 * come from text in the header; names, IDs and dates are never read.
 */
export interface DicomImage {
  transferSyntax: TransferSyntax;
  modality: string;
  /** MONOCHROME1 or MONOCHROME2; YBR_FULL or YBR_FULL_422 only for a JPEG frame, read as its luma. */
  photometric: "MONOCHROME1" | "MONOCHROME2" | "YBR_FULL" | "YBR_FULL_422";
  samplesPerPixel: 1 | 3;
  rows: number;
  columns: number;
  bitsAllocated: 8 | 16;
  bitsStored: number;
  highBit: number;
  signed: boolean;
  rescale: { slope: number; intercept: number };
  voi: VoiTransform;
  /** Lower values brighter: MONOCHROME1, or a Presentation LUT Shape of INVERSE. */
  inverted: boolean;
  /** Native pixel data (the first frame's bytes, in the transfer syntax's byte order) or the one encapsulated frame. */
  pixelData: Uint8Array;
}

/** The radiograph modalities read, and what a Secondary Capture of one may say instead. */
const RADIOGRAPH_MODALITIES = new Set(["CR", "DX"]);
const SECONDARY_CAPTURE_SOP_CLASS_PREFIX = "1.2.840.10008.5.1.4.1.1.7";
const SECONDARY_CAPTURE_MODALITIES = new Set(["OT", ""]);
/** An inflated dataset is never larger than an uncompressed image at the pixel limit, plus headroom for its header. */
const MAX_INFLATED_BYTES = IMAGE_LIMITS.maxPixels * 2 + 1024 * 1024;

const TAG = {
  transferSyntax: "x00020010",
  sopClass: "x00080016",
  modality: "x00080060",
  samplesPerPixel: "x00280002",
  photometric: "x00280004",
  frames: "x00280008",
  rows: "x00280010",
  columns: "x00280011",
  bitsAllocated: "x00280100",
  bitsStored: "x00280101",
  highBit: "x00280102",
  pixelRepresentation: "x00280103",
  windowCenter: "x00281050",
  windowWidth: "x00281051",
  rescaleIntercept: "x00281052",
  rescaleSlope: "x00281053",
  voiLutFunction: "x00281056",
  voiLutSequence: "x00283010",
  lutDescriptor: "x00283002",
  lutData: "x00283006",
  presentationLutShape: "x20500020",
  pixelData: "x7fe00010",
} as const;

const HOW_TO_SEND = "send a single-frame chest radiograph (CR or DX) as DICOM, JPEG or PNG";

/** A code string as a message may repeat it: printable ASCII, at most 16 characters (a CS value's length). */
function quoted(value: string): string {
  return value.replace(/[^\x20-\x7e]/g, "?").slice(0, 16);
}

/** Inflates a Deflated Explicit VR Little Endian dataset, bounded so a small file cannot expand without limit. */
function inflate(bytes: Uint8Array, position: number): Uint8Array {
  let inflated: Buffer;
  try {
    inflated = inflateRawSync(bytes.subarray(position), { maxOutputLength: MAX_INFLATED_BYTES });
  } catch (error) {
    throw new UnusableImageError(`The deflated DICOM dataset cannot be inflated (corrupt, or over ${MAX_INFLATED_BYTES >> 20} MiB inflated); send the original file.`, { cause: error });
  }
  const whole = new Uint8Array(position + inflated.length);
  whole.set(bytes.subarray(0, position));
  whole.set(inflated, position);
  return whole;
}

function parse(bytes: Uint8Array): DataSet {
  try {
    // A bare dataset has no file meta to name its transfer syntax: it is the default one.
    return dicomParser.parseDicom(bytes, { TransferSyntaxUID: IMPLICIT_VR_LITTLE_ENDIAN, inflater: inflate });
  } catch (error) {
    if (error instanceof UnusableImageError) throw error;
    // The parser throws strings and errors that may quote the header; the cause stays out of the answer.
    throw new UnusableImageError("The DICOM file cannot be read: it is truncated, or an element's length is corrupt. Send the original file.", {
      cause: error,
    });
  }
}

function transferSyntaxOf(dataSet: DataSet, bytes: Uint8Array): TransferSyntax {
  const uid = hasDicomPreamble(bytes) ? (dataSet.string(TAG.transferSyntax) ?? "").replace(/\0/g, "").trim() : IMPLICIT_VR_LITTLE_ENDIAN;
  const syntax = TRANSFER_SYNTAXES[uid];
  if (!syntax) {
    throw new UnsupportedMediaTypeError(
      `The DICOM file is encoded in ${uid ? describeTransferSyntax(uid) : "no declared transfer syntax"}, which the service does not read; ` +
        `transcode it to one it reads (${READ_TRANSFER_SYNTAX_NAMES.join(", ")}), for example with dcmtk's dcmconv +te file.dcm out.dcm, and send that.`,
    );
  }
  return syntax;
}

function assertRadiograph(dataSet: DataSet): string {
  const modality = (dataSet.string(TAG.modality) ?? "").toUpperCase();
  const secondaryCapture = (dataSet.string(TAG.sopClass) ?? "").startsWith(SECONDARY_CAPTURE_SOP_CLASS_PREFIX);
  if (RADIOGRAPH_MODALITIES.has(modality) || (secondaryCapture && SECONDARY_CAPTURE_MODALITIES.has(modality))) return modality || "OT";
  throw new UnsupportedDicomError(
    `The DICOM image's modality is ${modality ? quoted(modality) : "not given"}, not a radiograph (CR or DX): the model reads chest X-rays only; ${HOW_TO_SEND}.`,
  );
}

/**
 * Greyscale, or a JPEG frame of a grey X-ray stored as YCbCr (what img2dcm makes of an exported JPEG X-ray): read
 * as its luma, as an uploaded colour JPEG is, and left to the out-of-distribution gate like one. Any other colour
 * is refused.
 */
function photometricOf(dataSet: DataSet, transferSyntax: TransferSyntax): Pick<DicomImage, "photometric" | "samplesPerPixel"> {
  const photometric = (dataSet.string(TAG.photometric) ?? "").toUpperCase();
  const samples = dataSet.uint16(TAG.samplesPerPixel) ?? 1;
  if ((photometric === "MONOCHROME1" || photometric === "MONOCHROME2") && samples === 1) return { photometric, samplesPerPixel: 1 };
  if ((photometric === "YBR_FULL_422" || photometric === "YBR_FULL") && samples === 3 && transferSyntax.encoding === "jpeg") {
    return { photometric, samplesPerPixel: 3 };
  }
  throw new UnsupportedDicomError(
    `The DICOM image is ${photometric ? quoted(photometric) : "of no declared photometric interpretation"} with ${samples} sample(s) a pixel, not greyscale (MONOCHROME1 or MONOCHROME2); ${HOW_TO_SEND}.`,
  );
}

function assertSingleFrame(dataSet: DataSet): void {
  const frames = dataSet.intString(TAG.frames) ?? 1;
  if (frames > 1) throw new UnsupportedDicomError(`The DICOM image has ${frames} frames; the service reads single-frame radiographs: ${HOW_TO_SEND}.`);
}

function bitsOf(dataSet: DataSet): Pick<DicomImage, "bitsAllocated" | "bitsStored" | "highBit" | "signed"> {
  const bitsAllocated = dataSet.uint16(TAG.bitsAllocated);
  const bitsStored = dataSet.uint16(TAG.bitsStored) ?? bitsAllocated;
  const highBit = dataSet.uint16(TAG.highBit) ?? (bitsStored ?? 0) - 1;
  if ((bitsAllocated !== 8 && bitsAllocated !== 16) || bitsStored === undefined || bitsStored < 8 || bitsStored > bitsAllocated || highBit < bitsStored - 1 || highBit >= bitsAllocated) {
    throw new UnsupportedDicomError(
      `The DICOM image stores ${bitsStored ?? "an undeclared number of"} bits in ${bitsAllocated ?? "an undeclared number of"} bits allocated; the service reads 8 to 16 bits stored in 8 or 16 allocated; ${HOW_TO_SEND}.`,
    );
  }
  return { bitsAllocated, bitsStored, highBit, signed: dataSet.uint16(TAG.pixelRepresentation) === 1 };
}

function finiteOr(value: number | undefined, fallback: number): number {
  return value !== undefined && Number.isFinite(value) ? value : fallback;
}

function voiOf(dataSet: DataSet, signed: boolean): VoiTransform {
  const center = dataSet.floatString(TAG.windowCenter, 0);
  const width = dataSet.floatString(TAG.windowWidth, 0);
  const fn = (dataSet.string(TAG.voiLutFunction) ?? "LINEAR").toUpperCase();
  if (center !== undefined && width !== undefined && Number.isFinite(center) && Number.isFinite(width) && width >= 1) {
    return { kind: "window", center, width, fn: fn === "LINEAR_EXACT" || fn === "SIGMOID" ? fn : "LINEAR" };
  }
  const item = dataSet.elements[TAG.voiLutSequence]?.items?.[0]?.dataSet;
  return item ? voiLutOf(item, signed) : { kind: "full-range" };
}

/** The first VOI LUT of the sequence (PS3.3 C.11.2.1.1), its data checked against its descriptor. */
function voiLutOf(item: DataSet, signed: boolean): VoiTransform {
  const entries = item.uint16(TAG.lutDescriptor, 0);
  const firstMapped = signed ? item.int16(TAG.lutDescriptor, 1) : item.uint16(TAG.lutDescriptor, 1);
  const bits = item.uint16(TAG.lutDescriptor, 2);
  const data = item.elements[TAG.lutData];
  const count = entries === 0 ? 65536 : (entries ?? 0);
  if (firstMapped === undefined || bits === undefined || bits < 8 || bits > 16 || !data || data.length < count * 2) {
    throw new UnusableImageError("The DICOM image's VOI LUT is corrupt: its data does not match its descriptor. Send the original file.");
  }
  const words = new Uint16Array(count);
  for (let i = 0; i < count; i++) words[i] = item.byteArrayParser.readUint16(item.byteArray, data.dataOffset + 2 * i);
  return { kind: "lut", firstMapped, bits, data: words };
}

/** The first frame's bytes: native pixel data checked to hold Rows x Columns x Bits Allocated, or the one encapsulated frame. */
function pixelDataOf(dataSet: DataSet, element: Element, image: Pick<DicomImage, "rows" | "columns" | "bitsAllocated" | "transferSyntax">): Uint8Array {
  const { rows, columns, bitsAllocated, transferSyntax } = image;
  if (transferSyntax.encoding === "native") {
    const needed = rows * columns * (bitsAllocated / 8);
    if (element.encapsulatedPixelData || element.length < needed || element.dataOffset + needed > dataSet.byteArray.length) {
      throw new UnusableImageError(
        `The DICOM header declares ${columns}x${rows} pixels of ${bitsAllocated} bits (${needed} bytes) but its pixel data holds ${Math.max(0, Math.min(element.length, dataSet.byteArray.length - element.dataOffset))} bytes; the file is truncated or corrupt. Send the original file.`,
      );
    }
    return dataSet.byteArray.subarray(element.dataOffset, element.dataOffset + needed);
  }
  const fragments = element.fragments ?? [];
  if (!element.encapsulatedPixelData || fragments.length === 0) {
    throw new UnusableImageError(`The DICOM file says its pixel data is ${transferSyntax.name} but holds no compressed frame; the file is corrupt. Send the original file.`);
  }
  try {
    // One frame: every fragment is part of it, whatever the (often empty) offset table says.
    return dicomParser.readEncapsulatedPixelDataFromFragments(dataSet, element, 0, fragments.length);
  } catch (error) {
    throw new UnusableImageError("The DICOM file's compressed pixel data is truncated or corrupt. Send the original file.", { cause: error });
  }
}

/**
 * Reads a DICOM file's header and refuses, before decoding, anything the model should not see or a decoder
 * should not be asked to expand: an unread transfer syntax (415), no pixel data, several frames, colour, a
 * modality that is not a radiograph (422 UNSUPPORTED_DICOM), Rows x Columns over the pixel limits shared with
 * JPEG and PNG (413) and a file whose pixel data does not hold what it declares (422 UNUSABLE_IMAGE).
 */
export function readDicomImage(bytes: Uint8Array): DicomImage {
  const dataSet = parse(bytes);
  const transferSyntax = transferSyntaxOf(dataSet, bytes);
  const pixelElement = dataSet.elements[TAG.pixelData];
  if (!pixelElement) {
    throw new UnsupportedDicomError(
      `The DICOM file holds no pixel data: it is not an image (a report, a plan or a presentation state, say), or it is cut short; ${HOW_TO_SEND}.`,
    );
  }
  assertSingleFrame(dataSet);
  const { photometric, samplesPerPixel } = photometricOf(dataSet, transferSyntax);
  const modality = assertRadiograph(dataSet);
  const bits = bitsOf(dataSet);
  const rows = dataSet.uint16(TAG.rows) ?? 0;
  const columns = dataSet.uint16(TAG.columns) ?? 0;
  if (rows === 0 || columns === 0) throw new UnusableImageError("The DICOM header declares no image size (Rows and Columns); the file is corrupt. Send the original file.");
  assertDimensionsWithinLimits(columns, rows);
  const pixelData = pixelDataOf(dataSet, pixelElement, { rows, columns, bitsAllocated: bits.bitsAllocated, transferSyntax });
  return {
    transferSyntax,
    modality,
    photometric,
    samplesPerPixel,
    rows,
    columns,
    ...bits,
    rescale: { slope: finiteOr(dataSet.floatString(TAG.rescaleSlope), 1) || 1, intercept: finiteOr(dataSet.floatString(TAG.rescaleIntercept), 0) },
    voi: voiOf(dataSet, bits.signed),
    inverted: photometric === "MONOCHROME1" || (dataSet.string(TAG.presentationLutShape) ?? "").toUpperCase() === "INVERSE",
    pixelData,
  };
}
