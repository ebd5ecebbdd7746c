import { decodeFrame } from "./decode-frame.js";
import { displayGrey } from "./display-grey.js";
import type { DicomImage } from "./read-dicom-image.js";

/** A decoded DICOM image as a viewer shows it: one grey byte a pixel, row after row. */
export interface DicomGrey {
  width: number;
  height: number;
  data: Uint8Array;
}

/** Decodes a checked DICOM image's frame and renders it to display grey levels; nothing is written to disk. */
export async function decodeDicomGrey(image: DicomImage): Promise<DicomGrey> {
  const words = await decodeFrame(image);
  // Codecs return values aligned to bit 0; native data keeps any bits below High Bit - Bits Stored + 1.
  const shift = image.transferSyntax.encoding === "native" ? image.highBit + 1 - image.bitsStored : 0;
  return { width: image.columns, height: image.rows, data: displayGrey(image, words, shift) };
}
