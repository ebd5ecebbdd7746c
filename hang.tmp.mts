import { readFileSync } from "node:fs";
import { readDicomImage } from "./lambda/core/dicom/read-dicom-image.js";
import { readJpegFrameHeader } from "./lambda/core/dicom/codecs/jpeg-frame-header.js";
const img = readDicomImage(readFileSync(process.argv[2]!));
console.log(img.transferSyntax.name, img.rows, img.columns, img.bitsStored, img.pixelData.length, readJpegFrameHeader(img.pixelData));
const { decodeFrame } = await import("./lambda/core/dicom/decode-frame.js");
const t = performance.now();
setTimeout(() => { console.log("still running after 5 s"); process.exit(1); }, 5000).unref();
try { const w = await decodeFrame(img); console.log("decoded", w.length, performance.now() - t); } catch (e) { console.log("error", (e as Error).message, performance.now() - t); }
