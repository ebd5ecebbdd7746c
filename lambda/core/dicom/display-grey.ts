import type { DicomImage, VoiTransform } from "./read-dicom-image.js";
import type { StoredWords } from "./codecs/frame-check.js";

/** A modality value (after Rescale Slope and Intercept) to a display value in [0, 1], as PS3.3 C.11.2.1.2 defines each VOI function. */
function voiFunction(voi: VoiTransform, min: number, max: number): (x: number) => number {
  switch (voi.kind) {
    case "window": {
      const { center: c, width: w } = voi;
      if (voi.fn === "SIGMOID") return (x) => 1 / (1 + Math.exp((-4 * (x - c)) / w));
      if (voi.fn === "LINEAR_EXACT") return (x) => (x <= c - w / 2 ? 0 : x > c + w / 2 ? 1 : (x - c) / w + 0.5);
      return (x) => (x <= c - 0.5 - (w - 1) / 2 ? 0 : x > c - 0.5 + (w - 1) / 2 ? 1 : (x - (c - 0.5)) / (w - 1) + 0.5);
    }
    case "lut": {
      const { firstMapped, data } = voi;
      const top = 2 ** voi.bits - 1;
      return (x) => Math.min(1, data[Math.min(data.length - 1, Math.max(0, Math.round(x) - firstMapped))]! / top);
    }
    case "full-range":
      return (x) => (max > min ? (x - min) / (max - min) : 0);
  }
}

/**
 * The 8-bit grey image a DICOM viewer shows (PS3.3 C.11): each stored value masked to Bits Stored (shifted down
 * from High Bit in native data) and sign-extended when signed, rescaled, put through the VOI transform (the
 * first window, else the VOI LUT, else the full range of the values present), and inverted for MONOCHROME1 or
 * a Presentation LUT Shape of INVERSE. One table over every possible stored value (at most 65536 entries)
 * does it all, so each pixel costs a lookup.
 */
export function displayGrey(image: DicomImage, words: StoredWords, shift: number): Uint8Array {
  const levels = 2 ** image.bitsStored;
  const mask = levels - 1;
  const { slope, intercept } = image.rescale;
  const modalityValue = (stored: number) => (image.signed && stored >= levels / 2 ? stored - levels : stored) * slope + intercept;

  let min = Infinity;
  let max = -Infinity;
  if (image.voi.kind === "full-range") {
    const present = new Uint8Array(levels);
    for (let i = 0; i < words.length; i++) present[(words[i]! >> shift) & mask] = 1;
    for (let stored = 0; stored < levels; stored++) {
      if (!present[stored]) continue;
      const value = modalityValue(stored);
      if (value < min) min = value;
      if (value > max) max = value;
    }
  }
  const toUnit = voiFunction(image.voi, min, max);
  const table = new Uint8Array(levels);
  for (let stored = 0; stored < levels; stored++) {
    const unit = toUnit(modalityValue(stored));
    table[stored] = Math.round(255 * (image.inverted ? 1 - unit : unit));
  }
  const grey = new Uint8Array(words.length);
  for (let i = 0; i < words.length; i++) grey[i] = table[(words[i]! >> shift) & mask]!;
  return grey;
}
