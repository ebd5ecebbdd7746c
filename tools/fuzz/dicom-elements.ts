import dicomParser from "dicom-parser";

/** Where an element of a DICOM file sits: its header's length field and its value. */
export interface DicomElementAt {
  tag: string;
  vr: string | undefined;
  /** Offset of the value length field and its size in bytes (2 for short explicit VRs, else 4). */
  lengthOffset: number;
  lengthBytes: 2 | 4;
  dataOffset: number;
  length: number;
  littleEndian: boolean;
  fragments?: { position: number; length: number }[];
}

const LONG_VRS = new Set(["OB", "OD", "OF", "OL", "OV", "OW", "SQ", "UC", "UR", "UT", "UN"]);

/**
 * Every top-level element of a DICOM file (file meta included) with its offsets, read with the service's own
 * parser, so mutations land on real lengths and values; empty when the file does not parse (an earlier
 * mutation broke it).
 */
export function dicomElements(bytes: Uint8Array): DicomElementAt[] {
  let dataSet: ReturnType<typeof dicomParser.parseDicom>;
  try {
    dataSet = dicomParser.parseDicom(bytes, { TransferSyntaxUID: "1.2.840.10008.1.2" });
  } catch {
    return [];
  }
  const littleEndian = dataSet.byteArrayParser === dicomParser.littleEndianByteArrayParser;
  // A deflated file's dataset offsets are into the inflated copy, not into these bytes.
  if (dataSet.byteArray.length !== bytes.length) return [];
  return Object.values(dataSet.elements)
    .filter((element) => Number.isInteger(element.dataOffset) && Number.isInteger(element.length))
    .map((element) => {
    const inMeta = element.tag.startsWith("x0002");
    const explicit = element.vr !== undefined;
    const lengthBytes = explicit && !LONG_VRS.has(element.vr!) ? 2 : 4;
    return {
      tag: element.tag,
      vr: element.vr,
      lengthOffset: element.dataOffset - lengthBytes,
      lengthBytes,
      dataOffset: element.dataOffset,
      length: element.length,
      littleEndian: inMeta || littleEndian,
      ...(element.fragments ? { fragments: element.fragments.map((f) => ({ position: f.position, length: f.length })) } : {}),
    };
    });
}
