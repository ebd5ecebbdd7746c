/**
 * The corpus of hostile and odd requests, with the status each must get. Built at run time from a real X-ray
 * (sharp re-encodes it into other formats), so the repository carries no binary blobs beyond the fixtures.
 */
import { deflateSync, gzipSync } from "node:zlib";
import sharp, { type Sharp } from "sharp";
import { imageForm, anyXray } from "../../tools/support/forms.js";
import { greyPng, jpegDeclaring } from "../support/crafted-images.js";
import { FORM_LIMITS } from "../../lambda/core/limits.js";
import { radiographElements, writeDicom, type DicomElement, type RadiographOptions } from "../../tools/support/dicom-writer.js";

/** A request as a client sends it over HTTP. */
export interface CorpusRequest {
  body: Buffer;
  headers: Record<string, string>;
}

/** Expected status: the same everywhere, or per host where their limits differ (the Lambda route's, with npm start). */
export type Expected = number | readonly number[] | { lambda: number; batching: number };

export interface CorpusCase {
  family: "malformed form" | "wrong type" | "decoder attack" | "size" | "odd but valid" | "dicom";
  name: string;
  build: () => Promise<CorpusRequest>;
  expected: Expected;
}

const BOUNDARY = "corpus-boundary-7d9f";
const MULTIPART = `multipart/form-data; boundary=${BOUNDARY}`;

const raw = (body: Buffer | string, contentType?: string, extra: Record<string, string> = {}): CorpusRequest => ({
  body: Buffer.isBuffer(body) ? body : Buffer.from(body, "latin1"),
  headers: { ...(contentType ? { "content-type": contentType } : {}), ...extra },
});

const filePart = (name: string, content: Buffer | string, filename = "xray.jpeg", type = "image/jpeg") =>
  Buffer.concat([
    Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"; filename="${filename}"\r\nContent-Type: ${type}\r\n\r\n`, "latin1"),
    Buffer.isBuffer(content) ? content : Buffer.from(content, "latin1"),
    Buffer.from("\r\n", "latin1"),
  ]);
const textPart = (name: string, value: string) =>
  Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`, "latin1");
const closing = Buffer.from(`--${BOUNDARY}--\r\n`, "latin1");
const form = (...parts: Buffer[]) => raw(Buffer.concat([...parts, closing]), MULTIPART);

async function asForm(bytes: Buffer, filename = "xray.jpeg", type = "image/jpeg"): Promise<CorpusRequest> {
  const { body, contentType } = await imageForm(bytes, filename, "file", type);
  return { body, headers: { "content-type": contentType } };
}

/** A smaller copy of the X-ray, so re-encoding stays fast. */
const smallXray = async () => sharp(await anyXray()).resize(512).toBuffer();
const reencode = async (apply: (image: Sharp) => Sharp) => apply(sharp(await smallXray())).toBuffer();

/** A valid 1-bit PNG of side x side black pixels: a few kilobytes that would decode to 1.6 GB of RGBA. */
function decompressionBombPng(side: number): Buffer {
  const rowBytes = 1 + Math.ceil(side / 8);
  return greyPng(side, side, 1, deflateSync(Buffer.alloc(rowBytes * side), { level: 9 }));
}

/** The X-ray with comment segments after SOI, to reach a chosen size while staying a valid JPEG. */
async function paddedJpeg(totalBytes: number): Promise<Buffer> {
  const xray = await anyXray();
  const segments: Buffer[] = [];
  let size = xray.length;
  while (size < totalBytes) {
    const payload = Math.min(65_533, totalBytes - size);
    const segment = Buffer.alloc(payload + 4, 0x20);
    segment.set([0xff, 0xfe, (payload + 2) >> 8, (payload + 2) & 0xff]);
    segments.push(segment);
    size += segment.length;
  }
  return Buffer.concat([xray.subarray(0, 2), ...segments, xray.subarray(2)]);
}

/** The X-ray's grey pixels, 512 pixels wide, for DICOM files written from them. */
async function xrayPixels(): Promise<{ data: Buffer; width: number; height: number }> {
  const { data, info } = await sharp(await smallXray()).grayscale().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/** The X-ray as a MONOCHROME1 12-bit DICOM radiograph with a window, `change` applied, written in `transferSyntax`. */
async function xrayDicom(change: Partial<RadiographOptions> = {}, extra: DicomElement[] = [], transferSyntax?: string, part10 = true): Promise<Buffer> {
  const { data, width, height } = await xrayPixels();
  const pixels = Uint16Array.from(data, (level) => (255 - level) * 16);
  const options: RadiographOptions = { rows: height, columns: width, bitsAllocated: 16, bitsStored: 12, photometric: "MONOCHROME1", window: { center: 2048, width: 4096 }, pixels, extra, ...change };
  return writeDicom(radiographElements(options), { ...(transferSyntax ? { transferSyntax } : {}), part10 });
}

/** The X-ray's JPEG bytes in a DICOM file (JPEG Baseline, YCbCr as img2dcm writes a colour JPEG), `frame` standing in for them when given. */
async function encapsulatedXray(frame?: Buffer): Promise<Buffer> {
  const jpeg: Buffer = frame ?? (await sharp(await smallXray()).jpeg().toBuffer());
  const { width, height } = await sharp(jpeg).metadata();
  const elements = radiographElements({ rows: height!, columns: width!, pixels: { fragments: [jpeg] } }).map((element) =>
    element.tag === 0x00280004 ? { ...element, value: "YBR_FULL_422" } : element.tag === 0x00280002 ? { ...element, value: [3] } : element,
  );
  return writeDicom(elements, { transferSyntax: "1.2.840.10008.1.2.4.50" });
}

/** The DICOM file with a private sequence nested `depth` times before its pixel data, every sequence and item of undefined length. */
function withNestedSequence(dicom: Buffer, depth: number): Buffer {
  const open = Buffer.from("09001010" + "5351" + "0000" + "ffffffff" + "feff00e0" + "ffffffff", "hex");
  const close = Buffer.from("feff0de0" + "00000000" + "feffdde0" + "00000000", "hex");
  const pixelData = dicom.indexOf(Buffer.from("e07f1000", "hex"));
  return Buffer.concat([dicom.subarray(0, pixelData), ...Array<Buffer>(depth).fill(open), ...Array<Buffer>(depth).fill(close), dicom.subarray(pixelData)]);
}

/** Raw file bytes that fit a base64 event of about `eventBytes` once wrapped in a form. */
export const CORPUS: readonly CorpusCase[] = [
  // Malformed forms
  { family: "malformed form", name: "cut before the closing boundary", expected: 400, build: async () => { const f = await asForm(await anyXray()); return { ...f, body: f.body.subarray(0, f.body.length - 100) }; } },
  { family: "malformed form", name: "cut inside the part headers", expected: 400, build: async () => raw(`--${BOUNDARY}\r\nContent-Disposition: form-da`, MULTIPART) },
  { family: "malformed form", name: "a boundary that does not match the body", expected: 400, build: async () => { const f = await asForm(await anyXray()); return { ...f, headers: { "content-type": "multipart/form-data; boundary=not-the-one" } }; } },
  { family: "malformed form", name: "no boundary parameter", expected: 400, build: async () => raw(form(filePart("file", "x")).body, "multipart/form-data") },
  { family: "malformed form", name: "no Content-Type", expected: 415, build: async () => raw(form(filePart("file", "x")).body) },
  { family: "malformed form", name: "a 64 KiB part header", expected: 400, build: async () => form(Buffer.concat([Buffer.from(`--${BOUNDARY}\r\nX-Padding: ${"a".repeat(65_536)}\r\n`, "latin1"), filePart("file", "x").subarray(BOUNDARY.length + 4)])) },
  { family: "malformed form", name: "5000 parts", expected: 413, build: async () => form(...Array.from({ length: 5000 }, (_, i) => textPart(`f${i}`, "x"))) },
  { family: "malformed form", name: "a text field named files after the file", expected: 200, build: async () => form(filePart("file", await anyXray()), textPart("files", "x")) },
  { family: "malformed form", name: "fields named __proto__ and constructor", expected: 200, build: async () => form(textPart("__proto__", "x"), textPart("constructor", "y"), filePart("file", await anyXray())) },
  { family: "malformed form", name: "two files", expected: 400, build: async () => form(filePart("file", await anyXray()), filePart("file", await anyXray())) },
  { family: "malformed form", name: "an empty file", expected: 400, build: async () => form(filePart("file", "")) },
  { family: "malformed form", name: "no file at all", expected: 400, build: async () => form() },
  { family: "malformed form", name: "text fields only", expected: 400, build: async () => form(textPart("name", "x"), textPart("note", "y")) },
  // Wrong types
  { family: "wrong type", name: "a JSON body", expected: 415, build: async () => raw('{"file": "xray.jpeg"}', "application/json") },
  { family: "wrong type", name: "a urlencoded body", expected: 415, build: async () => raw("file=xray.jpeg", "application/x-www-form-urlencoded") },
  { family: "wrong type", name: "a raw image body", expected: 415, build: async () => raw(await anyXray(), "image/jpeg") },
  { family: "wrong type", name: "SVG", expected: 415, build: async () => asForm(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="512" height="512"><script>alert(1)</script></svg>'), "x.svg", "image/svg+xml") },
  { family: "wrong type", name: "a DICOM preamble and marker with nothing after", expected: [415, 422], build: async () => asForm(Buffer.concat([Buffer.alloc(128), Buffer.from("DICM"), Buffer.alloc(256)]), "x.dcm", "application/dicom") },
  { family: "wrong type", name: "GIF", expected: 415, build: async () => asForm(await reencode((i) => i.gif()), "x.gif", "image/gif") },
  { family: "wrong type", name: "BMP", expected: 415, build: async () => { const b = Buffer.alloc(54 + 64 * 64 * 3); b.write("BM", 0, "latin1"); b.writeUInt32LE(b.length, 2); b.writeUInt32LE(54, 10); b.writeUInt32LE(40, 14); b.writeInt32LE(64, 18); b.writeInt32LE(64, 22); b.writeUInt16LE(1, 26); b.writeUInt16LE(24, 28); return asForm(b, "x.bmp", "image/bmp"); } },
  { family: "wrong type", name: "TIFF", expected: 415, build: async () => asForm(await reencode((i) => i.tiff()), "x.tiff", "image/tiff") },
  { family: "wrong type", name: "WebP", expected: 415, build: async () => asForm(await reencode((i) => i.webp()), "x.webp", "image/webp") },
  { family: "wrong type", name: "HEIC", expected: 415, build: async () => asForm(Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from("ftypheic\0\0\0\0mif1heic", "latin1"), Buffer.alloc(64)]), "x.heic", "image/heic") },
  // Decoder attacks
  { family: "decoder attack", name: "a JPEG header declaring 60000x60000", expected: 413, build: async () => asForm(jpegDeclaring(60000, 60000)) },
  { family: "decoder attack", name: "a JPEG header declaring 65535x1", expected: 413, build: async () => asForm(jpegDeclaring(65535, 1)) },
  { family: "decoder attack", name: "a valid 20000x20000 PNG of a few tens of KB", expected: 413, build: async () => asForm(decompressionBombPng(20000), "bomb.png", "image/png") },
  // Found by npm run fuzz: a few kilobytes declaring a size inside the limits decoded to a blank image in up to 2 s.
  { family: "decoder attack", name: "a 3 KB JPEG whose header declares 5000x5000", expected: 422, build: async () => { const small = await sharp(await smallXray()).resize(64, 64).jpeg().toBuffer(); const sof = small.indexOf(Buffer.from([0xff, 0xc0])); const edited = Buffer.from(small); edited.writeUInt16BE(5000, sof + 5); edited.writeUInt16BE(5000, sof + 7); return asForm(edited); } },
  { family: "decoder attack", name: "a small PNG whose header declares 10000x2500", expected: 422, build: async () => { const png = Buffer.from(await sharp(await smallXray()).resize(64, 100).png().toBuffer()); png.writeUInt32BE(10000, 16); png.writeUInt32BE(2500, 20); return asForm(png, "x.png", "image/png"); } },
  { family: "decoder attack", name: "a truncated JPEG", expected: 422, build: async () => { const x = await anyXray(); return asForm(x.subarray(0, x.length >> 1)); } },
  { family: "decoder attack", name: "a JPEG with its frame header overwritten", expected: 422, build: async () => { const x = Buffer.from(await anyXray()); const sof = x.indexOf(Buffer.from([0xff, 0xc0])); x.fill(0xff, sof, sof + 12); return asForm(x); } },
  // Inputs that made jpeg-js loop forever (jpeg-js issues #105, CVE-2022-25851, and #53); refused before decoding.
  { family: "decoder attack", name: "the jpeg-js infinite-loop input of CVE-2022-25851", expected: [413, 422], build: async () => asForm(Buffer.from("ffd8ffc1f151d800ff51d800ffdaffde", "hex")) },
  { family: "decoder attack", name: "the jpeg-js infinite-loop input of issue #53", expected: [413, 422], build: async () => asForm(Buffer.from("ffd8ffc09dfdb0ffff0e5296bd7fbbc4f9579096bd7fbbfc0e80d50000ffff36fa400100236701bf73ffaf8003a57f097f5e000000008023c4f9579096bd7fbb008000001500b34e8c018fda5212", "hex")) },
  // libjpeg decodes damaged scan data as best it can, painting over what it cannot read, and warns; the service
  // refuses every warning about the pixel data (lambda/core/model/scaled-jpeg-format.ts), so the model never
  // answers on a half-invented image. Was [200, 422] while MozJPEG ignored the warnings and answered. The second
  // case's only warning is "1 extraneous bytes before marker 0xd9", the kind one might take for harmless; yet
  // nearly a third of its pixels are wrong (test/core/model/preprocess.test.ts).
  { family: "decoder attack", name: "a JPEG with scan data overwritten", expected: 422, build: async () => { const x = Buffer.from(await anyXray()); x.fill(0x5a, x.length >> 1, (x.length >> 1) + 2048); return asForm(x); } },
  { family: "decoder attack", name: "a JPEG with one bit of its scan flipped", expected: 422, build: async () => { const x = Buffer.from(await anyXray()); x[2315]! ^= 0x10; return asForm(x); } },
  { family: "decoder attack", name: "a PNG with a corrupt data chunk", expected: 422, build: async () => { const p = Buffer.from(await reencode((i) => i.png())); const idat = p.indexOf("IDAT"); p.fill(0x00, idat + 20, idat + 200); return asForm(p, "x.png", "image/png"); } },
  // Size
  { family: "size", name: "a valid JPEG just under Lambda's 6 MiB invoke limit after base64", expected: 200, build: async () => asForm(await paddedJpeg(FORM_LIMITS.maxLambdaBodyBytes - 64 * 1024)) },
  { family: "size", name: "a valid JPEG just over Lambda's 6 MiB invoke limit after base64", expected: { lambda: 413, batching: 200 }, build: async () => asForm(await paddedJpeg(FORM_LIMITS.maxLambdaBodyBytes + 64 * 1024)) },
  { family: "size", name: "a body over API Gateway's 10 MiB", expected: 413, build: async () => asForm(await paddedJpeg(FORM_LIMITS.maxBodyBytes + 1024)) },
  { family: "size", name: "a gzip-encoded form", expected: 415, build: async () => { const f = await asForm(await anyXray()); return { body: gzipSync(f.body), headers: { ...f.headers, "content-encoding": "gzip" } }; } },
  // Odd but valid
  { family: "odd but valid", name: "a progressive JPEG", expected: 200, build: async () => asForm(await reencode((i) => i.jpeg({ progressive: true }))) },
  { family: "odd but valid", name: "a 16-bit grey PNG", expected: 200, build: async () => asForm(await reencode((i) => i.toColourspace("grey16").png()), "x.png", "image/png") },
  { family: "odd but valid", name: "a palette PNG", expected: 200, build: async () => asForm(await reencode((i) => i.png({ palette: true })), "x.png", "image/png") },
  { family: "odd but valid", name: "an RGB PNG", expected: 200, build: async () => asForm(await reencode((i) => i.toColourspace("srgb").png()), "x.png", "image/png") },
  { family: "odd but valid", name: "an RGBA PNG", expected: 200, build: async () => asForm(await reencode((i) => i.ensureAlpha(0.8).png()), "x.png", "image/png") },
  // libjpeg warns about the unknown revision but not about the pixels, so the image is answered.
  { family: "odd but valid", name: "a JPEG declaring JFIF revision 2.01", expected: 200, build: async () => { const x = Buffer.from(await anyXray()); x[11] = 2; return asForm(x); } },
  { family: "odd but valid", name: "an EXIF-rotated JPEG", expected: 200, build: async () => asForm(await reencode((i) => i.rotate(-90).withMetadata({ orientation: 6 }).jpeg())) },
  { family: "odd but valid", name: "a 1x1 PNG", expected: 422, build: async () => asForm(await sharp({ create: { width: 1, height: 1, channels: 3, background: "#808080" } }).png().toBuffer(), "x.png", "image/png") },
  { family: "odd but valid", name: "a 4000x100 strip", expected: 422, build: async () => asForm(await sharp(await smallXray()).resize(4000, 100, { fit: "fill" }).jpeg().toBuffer()) },
  { family: "odd but valid", name: "a Unicode file name", expected: 200, build: async () => asForm(await anyXray(), "胸部X線 🫁 ü.jpeg") },
  // DICOM (issue 12): what a PACS export looks like, and what a crafted file can do
  { family: "dicom", name: "an X-ray as DICOM (JPEG encapsulated), declared application/dicom", expected: 200, build: async () => asForm(await encapsulatedXray(), "chest.dcm", "application/dicom") },
  { family: "dicom", name: "an X-ray as DICOM, declared application/octet-stream", expected: 200, build: async () => asForm(await xrayDicom(), "chest.dcm", "application/octet-stream") },
  { family: "dicom", name: "an X-ray as DICOM with no declared type", expected: 200, build: async () => form(Buffer.concat([Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="chest"\r\n\r\n`, "latin1"), await xrayDicom(), Buffer.from("\r\n", "latin1")])) },
  { family: "dicom", name: "an X-ray as a bare implicit VR dataset, big endian and deflated copies aside", expected: 200, build: async () => asForm(await xrayDicom({}, [], "1.2.840.10008.1.2", false), "chest.dcm", "application/dicom") },
  { family: "dicom", name: "an X-ray as deflated DICOM", expected: 200, build: async () => asForm(await xrayDicom({}, [], "1.2.840.10008.1.2.1.99"), "chest.dcm", "application/dicom") },
  { family: "dicom", name: "a DICOM with no pixel data", expected: 422, build: async () => asForm(writeDicom(radiographElements({ rows: 64, columns: 64, pixels: new Uint8Array(0) }).filter((e) => e.tag !== 0x7fe00010)), "sr.dcm", "application/dicom") },
  { family: "dicom", name: "a CT DICOM", expected: 422, build: async () => asForm(await xrayDicom({ modality: "CT" }), "ct.dcm", "application/dicom") },
  { family: "dicom", name: "a multi-frame DICOM", expected: 422, build: async () => asForm(await xrayDicom({}, [{ tag: 0x00280008, vr: "IS", value: "2" }]), "cine.dcm", "application/dicom") },
  { family: "dicom", name: "a DICOM in High-Throughput JPEG 2000", expected: 415, build: async () => asForm(await xrayDicom({}, [], "1.2.840.10008.1.2.4.201"), "htj2k.dcm", "application/dicom") },
  { family: "dicom", name: "a DICOM declaring 65535x65535 pixels", expected: 413, build: async () => asForm(writeDicom(radiographElements({ rows: 65535, columns: 65535, pixels: new Uint8Array(4096) })), "huge.dcm", "application/dicom") },
  { family: "dicom", name: "a DICOM whose pixel data is shorter than Rows x Columns x Bits Allocated", expected: 422, build: async () => asForm(await xrayDicom({ pixels: new Uint16Array(1000) }), "short.dcm", "application/dicom") },
  { family: "dicom", name: "a DICOM cut short inside its pixel data", expected: 422, build: async () => { const d = await xrayDicom(); return asForm(d.subarray(0, d.length >> 1), "cut.dcm", "application/dicom"); } },
  { family: "dicom", name: "a DICOM whose pixel data length says 4 GiB", expected: 422, build: async () => asForm(writeDicom(radiographElements({ rows: 64, columns: 64, pixels: new Uint8Array(64 * 64) }), { lyingLengths: new Map([[0x7fe00010, 0xfffffff0]]) }), "liar.dcm", "application/dicom") },
  { family: "dicom", name: "a DICOM with a sequence nested 20 deep, every length undefined", expected: 200, build: async () => asForm(withNestedSequence(await xrayDicom(), 20), "nested.dcm", "application/dicom") },
  // dicom-parser reads sequences recursively: this deep, its stack overflows, which readDicomImage refuses as unreadable.
  { family: "dicom", name: "a DICOM with a sequence nested 20000 deep, every length undefined", expected: 422, build: async () => asForm(withNestedSequence(await xrayDicom(), 20000), "nested.dcm", "application/dicom") },
  { family: "dicom", name: "a 64x64 DICOM whose JPEG frame declares 5000x5000 (a codec bomb)", expected: 422, build: async () => { const small = Buffer.from(await sharp(await smallXray()).resize(64, 64).jpeg().toBuffer()); const d = await encapsulatedXray(small); const sof = d.indexOf(Buffer.from([0xff, 0xc0])); d.writeUInt16BE(5000, sof + 5); d.writeUInt16BE(5000, sof + 7); return asForm(d, "bomb.dcm", "application/dicom"); } },
  { family: "dicom", name: "a deflated DICOM that inflates to 100 MB", expected: 422, build: async () => asForm(await xrayDicom({}, [{ tag: 0x00091012, vr: "OB", value: new Uint8Array(100 * 2 ** 20) }], "1.2.840.10008.1.2.1.99"), "inflate-bomb.dcm", "application/dicom") },
  { family: "odd but valid", name: "a path-like file name", expected: 200, build: async () => asForm(await anyXray(), "../../etc/passwd.jpeg") },
];

/** The status a case expects over one transport. */
export function expectedStatuses(expected: Expected, transport: "handler" | "http" | "batching"): readonly number[] {
  if (typeof expected === "number") return [expected];
  if (Array.isArray(expected)) return expected;
  // The handler and npm start hold to the Lambda route's limits; the batching server has its own.
  return [(expected as { lambda: number; batching: number })[transport === "batching" ? "batching" : "lambda"]];
}

