/**
 * The corpus of hostile and odd requests, with the status each must get. Built at run time from a real X-ray
 * (sharp re-encodes it into other formats), so the repository carries no binary blobs beyond the fixtures.
 */
import { deflateSync, gzipSync } from "node:zlib";
import sharp, { type Sharp } from "sharp";
import { imageForm, anyXray } from "../../tools/support/forms.js";
import { greyPng, jpegDeclaring } from "../support/crafted-images.js";
import { FORM_LIMITS } from "../../lambda/core/limits.js";

/** A request as a client sends it over HTTP. */
export interface CorpusRequest {
  body: Buffer;
  headers: Record<string, string>;
}

/** Expected status: the same everywhere, or per host where their limits differ (the Lambda route's, with npm start). */
export type Expected = number | readonly number[] | { lambda: number; batching: number };

export interface CorpusCase {
  family: "malformed form" | "wrong type" | "decoder attack" | "size" | "odd but valid";
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
  { family: "wrong type", name: "DICOM", expected: 415, build: async () => asForm(Buffer.concat([Buffer.alloc(128), Buffer.from("DICM"), Buffer.alloc(256)]), "x.dcm", "application/dicom") },
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
  { family: "odd but valid", name: "a path-like file name", expected: 200, build: async () => asForm(await anyXray(), "../../etc/passwd.jpeg") },
];

/** The status a case expects over one transport. */
export function expectedStatuses(expected: Expected, transport: "handler" | "http" | "batching"): readonly number[] {
  if (typeof expected === "number") return [expected];
  if (Array.isArray(expected)) return expected;
  // The handler and npm start hold to the Lambda route's limits; the batching server has its own.
  return [(expected as { lambda: number; batching: number })[transport === "batching" ? "batching" : "lambda"]];
}

