/** How a transfer syntax's pixel data is stored, and so which decoder reads it. */
export type PixelEncoding = "native" | "jpeg" | "jpeg-lossless" | "jpeg-ls" | "jpeg-2000" | "rle";

/** A transfer syntax the service reads. */
export interface TransferSyntax {
  uid: string;
  name: string;
  encoding: PixelEncoding;
  /** Native pixel data in big-endian words (the retired Explicit VR Big Endian). */
  bigEndian?: boolean;
}

/** Implicit VR Little Endian: the default, and what a dataset without file meta information is in. */
export const IMPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2";

/** Every transfer syntax read, keyed by UID (PS3.6 Annex A). */
export const TRANSFER_SYNTAXES: Readonly<Record<string, TransferSyntax>> = Object.fromEntries(
  (
    [
      [IMPLICIT_VR_LITTLE_ENDIAN, "Implicit VR Little Endian", "native"],
      ["1.2.840.10008.1.2.1", "Explicit VR Little Endian", "native"],
      ["1.2.840.10008.1.2.1.99", "Deflated Explicit VR Little Endian", "native"],
      ["1.2.840.10008.1.2.2", "Explicit VR Big Endian", "native"],
      ["1.2.840.10008.1.2.4.50", "JPEG Baseline (Process 1)", "jpeg"],
      ["1.2.840.10008.1.2.4.51", "JPEG Extended (Process 2 & 4)", "jpeg"],
      ["1.2.840.10008.1.2.4.57", "JPEG Lossless (Process 14)", "jpeg-lossless"],
      ["1.2.840.10008.1.2.4.70", "JPEG Lossless (Process 14, SV1)", "jpeg-lossless"],
      ["1.2.840.10008.1.2.4.80", "JPEG-LS Lossless", "jpeg-ls"],
      ["1.2.840.10008.1.2.4.81", "JPEG-LS Near-Lossless", "jpeg-ls"],
      ["1.2.840.10008.1.2.4.90", "JPEG 2000 (Lossless Only)", "jpeg-2000"],
      ["1.2.840.10008.1.2.4.91", "JPEG 2000", "jpeg-2000"],
      ["1.2.840.10008.1.2.5", "RLE Lossless", "rle"],
    ] as const
  ).map(([uid, name, encoding]) => [uid, { uid, name, encoding, ...(uid === "1.2.840.10008.1.2.2" ? { bigEndian: true } : {}) }]),
);

/** Transfer syntaxes known by name but not read, so a refusal can name them. */
const UNREAD_NAMES: Readonly<Record<string, string>> = {
  "1.2.840.10008.1.2.4.52": "JPEG Extended (Process 3 & 5)",
  "1.2.840.10008.1.2.4.53": "JPEG Spectral Selection",
  "1.2.840.10008.1.2.4.55": "JPEG Full Progression",
  "1.2.840.10008.1.2.4.92": "JPEG 2000 Part 2 Multi-component (Lossless Only)",
  "1.2.840.10008.1.2.4.93": "JPEG 2000 Part 2 Multi-component",
  "1.2.840.10008.1.2.4.94": "JPIP Referenced",
  "1.2.840.10008.1.2.4.95": "JPIP Referenced Deflate",
  "1.2.840.10008.1.2.4.100": "MPEG2 Main Profile",
  "1.2.840.10008.1.2.4.101": "MPEG2 High Profile",
  "1.2.840.10008.1.2.4.102": "MPEG-4 AVC/H.264",
  "1.2.840.10008.1.2.4.103": "MPEG-4 AVC/H.264 BD-compatible",
  "1.2.840.10008.1.2.4.104": "MPEG-4 AVC/H.264 for 2D Video",
  "1.2.840.10008.1.2.4.105": "MPEG-4 AVC/H.264 for 3D Video",
  "1.2.840.10008.1.2.4.106": "MPEG-4 AVC/H.264 Stereo",
  "1.2.840.10008.1.2.4.107": "HEVC/H.265 Main Profile",
  "1.2.840.10008.1.2.4.108": "HEVC/H.265 Main 10 Profile",
  "1.2.840.10008.1.2.4.110": "JPEG XL Lossless",
  "1.2.840.10008.1.2.4.111": "JPEG XL JPEG Recompression",
  "1.2.840.10008.1.2.4.112": "JPEG XL",
  "1.2.840.10008.1.2.4.201": "High-Throughput JPEG 2000 (Lossless Only)",
  "1.2.840.10008.1.2.4.202": "High-Throughput JPEG 2000 with RPCL Options (Lossless Only)",
  "1.2.840.10008.1.2.4.203": "High-Throughput JPEG 2000",
};

/** A UID as a refusal may quote it: at most 64 characters of digits and dots (what a UID may hold). */
function quotedUid(uid: string): string {
  return uid.replace(/[^0-9.]/g, "?").slice(0, 64);
}

/** The transfer syntax's name and UID, for messages: "JPEG XL (1.2.840.10008.1.2.4.112)". */
export function describeTransferSyntax(uid: string): string {
  const name = TRANSFER_SYNTAXES[uid]?.name ?? UNREAD_NAMES[uid];
  return name ? `${name} (${uid})` : `the unknown transfer syntax ${quotedUid(uid)}`;
}

/** The names of every transfer syntax read, for messages and the API document. */
export const READ_TRANSFER_SYNTAX_NAMES = Object.values(TRANSFER_SYNTAXES).map((syntax) => syntax.name);
