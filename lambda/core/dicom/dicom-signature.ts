/** Bytes before the "DICM" marker of a DICOM file (PS3.10 7.1): a preamble, usually zeros. */
export const DICOM_PREAMBLE_BYTES = 128;
const DICM = [0x44, 0x49, 0x43, 0x4d];

/** True for a DICOM file with its preamble and "DICM" marker (PS3.10), what every current toolkit writes. */
export function hasDicomPreamble(bytes: Uint8Array): boolean {
  return DICM.every((byte, index) => bytes[DICOM_PREAMBLE_BYTES + index] === byte);
}

/** Little-endian group number and 32-bit value length of the implicit-VR element at `offset`. */
function implicitElementAt(bytes: Uint8Array, offset: number): { group: number; length: number } | undefined {
  if (offset + 8 > bytes.length) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, 8);
  return { group: view.getUint16(0, true), length: view.getUint32(4, true) };
}

/**
 * True for a bare dataset in Implicit VR Little Endian, without preamble or file meta information, as
 * ACR-NEMA-era archives hold: it opens with two elements of the identifying group (0008) whose 32-bit lengths fit
 * the file. The first bytes of a JPEG (FF D8), PNG (89 50) or anything textual cannot pass.
 */
export function isBareImplicitDataset(bytes: Uint8Array): boolean {
  const first = implicitElementAt(bytes, 0);
  if (first?.group !== 0x0008 || first.length > bytes.length - 8) return false;
  const second = implicitElementAt(bytes, 8 + first.length);
  return second?.group === 0x0008 && second.length <= bytes.length - 16 - first.length;
}

/** True when the bytes are a DICOM file, by either signature; the file's name and declared type play no part. */
export function isDicom(bytes: Uint8Array): boolean {
  return hasDicomPreamble(bytes) || isBareImplicitDataset(bytes);
}
