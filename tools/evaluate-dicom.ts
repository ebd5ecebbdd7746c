/**
 * Checks DICOM input against the answers it must match (issue 12's acceptance), in process with the served model:
 *
 * - every real chest file of --chest, and its transcodes to every transfer syntax read (dcmtk's dcmconv, dcmcrle,
 *   dcmcjpls, dcmcjpeg and GDCM's gdcmconv, which must be on the PATH; Debian: apt-get install dcmtk
 *   libgdcm-tools), made from an uncompressed copy, against the original: P(PNEUMONIA)
 *   within 0.01 for lossless syntaxes, 0.03 for lossy ones;
 * - every dev X-ray of --dev wrapped as DICOM (its JPEG bytes encapsulated; its decoded pixels as MONOCHROME2
 *   8-bit, as MONOCHROME1 12-bit with a window, big endian, deflated, and transcoded to each lossless compressed
 *   syntax) against its JPEG: within 0.02.
 *
 *   node --import tsx tools/evaluate-dicom.ts [--chest DIR] [--dev DIR] [--limit N]
 *
 * Prints one row per kind of file: how many, the largest difference, how many over the tolerance, and the gate
 * verdicts. Exit code 1 when any file fails to decode or any difference is over its tolerance.
 */
import { execFileSync } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseCommandLine } from "../bin/cli/command-line.js";
import { defaultModelDir } from "../lambda/core/model/manifest.js";
import { OnnxModel, type Classification } from "../lambda/core/model/onnx-model.js";
import { preprocessImage } from "../lambda/core/model/preprocess.js";
import { refusedByGate } from "../lambda/core/model/assert-chest-xray.js";
import { decodeGreyScaled } from "../lambda/core/model/libjpeg-turbo/scaled-jpeg-decoder.js";
import { toApiError } from "../lambda/core/errors.js";
import { radiographElements, writeDicom } from "./support/dicom-writer.js";
import { hasDicomPreamble } from "../lambda/core/dicom/dicom-signature.js";

const commandLine = parseCommandLine({
  command: "node --import tsx tools/evaluate-dicom.ts",
  summary: "Classifies real DICOM chest files and their transcodes, and dev X-rays wrapped as DICOM, against the answers they must match.",
  options: {
    chest: { type: "string", value: "DIR", default: "../shared/data/dicom/chest", doc: "real DICOM chest files" },
    dev: { type: "string", value: "DIR", default: "../shared/data/chest_xray/dev", doc: "JPEG X-rays (NORMAL/ and PNEUMONIA/)" },
    limit: { type: "string", value: "N", default: "1000000", doc: "at most this many dev X-rays (the first by name)" },
  },
});
const limit = commandLine.number("limit", { min: 1, max: 1_000_000 });
const model = await OnnxModel.load(defaultModelDir());
const scratch = await mkdtemp(join(tmpdir(), "evaluate-dicom-"));

/** Each transcode: name, command and arguments (input and output appended), and whether it is lossy. */
const TRANSCODES: [string, string, string[], boolean][] = [
  ["explicit VR LE", "dcmconv", ["+te"], false],
  ["implicit VR LE", "dcmconv", ["+ti"], false],
  ["explicit VR BE", "dcmconv", ["+tb"], false],
  ["deflated", "dcmconv", ["+td"], false],
  ["RLE", "dcmcrle", [], false],
  ["JPEG-LS lossless", "dcmcjpls", [], false],
  ["JPEG-LS near-lossless", "dcmcjpls", ["+en"], true],
  ["JPEG Lossless 14", "dcmcjpeg", ["+el"], false],
  ["JPEG Lossless SV1", "dcmcjpeg", ["+e1"], false],
  ["JPEG Extended, lossy (12-bit above 8 bits stored)", "dcmcjpeg", ["+ee"], true],
  ["JPEG 2000 lossless", "gdcmconv", ["--j2k"], false],
  ["JPEG 2000 lossy", "gdcmconv", ["--j2k", "--lossy", "-r", "10"], true],
];

interface Row {
  count: number;
  maxDiff: number;
  over: number;
  refusedByGate: number;
  failed: string[];
}
const rows = new Map<string, Row>();

async function answer(bytes: Uint8Array): Promise<Classification> {
  return model.classify((await preprocessImage(bytes, model.manifest.input.preprocessing)).tensor);
}

/** Classifies a file and records its difference from the reference under `kind`. */
async function compare(kind: string, bytes: Uint8Array, reference: number, tolerance: number, name: string) {
  const row = rows.get(kind) ?? { count: 0, maxDiff: 0, over: 0, refusedByGate: 0, failed: [] };
  rows.set(kind, row);
  row.count++;
  try {
    const result = await answer(bytes);
    const diff = Math.abs(result.probabilities.PNEUMONIA - reference);
    row.maxDiff = Math.max(row.maxDiff, diff);
    if (diff > tolerance) row.over++;
    if (refusedByGate(result)) row.refusedByGate++;
  } catch (error) {
    row.failed.push(`${name}: ${toApiError(error).message.slice(0, 120)}`);
  }
}

/** The file transcoded by `command`, read back; undefined when the tool refused it (a syntax it cannot write for this image). */
async function transcode(input: string, command: string, args: string[]): Promise<Buffer | undefined> {
  const output = join(scratch, "out.dcm");
  try {
    execFileSync(command, [...args, input, output], { stdio: "pipe" });
    return await readFile(output);
  } catch {
    return undefined;
  }
}

// Real chest files and their transcodes, against the original
for (const name of (await readdir(commandLine.values.chest)).sort()) {
  const path = join(commandLine.values.chest, name);
  const original = await readFile(path);
  const reference = (await answer(original)).probabilities.PNEUMONIA;
  // The transcodes start from an uncompressed explicit VR copy: gdcmconv decompresses JPEG 2000 and JPEG-LS,
  // which dcmtk does not; dcmconv reads a bare dataset (no preamble) with -f.
  const base = join(scratch, "base.dcm");
  if (hasDicomPreamble(original)) execFileSync("gdcmconv", ["--raw", path, base], { stdio: "pipe" });
  else execFileSync("dcmconv", ["-f", "+te", path, base], { stdio: "pipe" });
  for (const [kind, command, args, lossy] of TRANSCODES) {
    const bytes = await transcode(base, command, args);
    if (bytes) await compare(`chest: ${kind}`, bytes, reference, lossy ? 0.03 : 0.01, name);
  }
}

// Dev X-rays wrapped as DICOM, against their JPEG
const labels = await readdir(commandLine.values.dev);
const devFiles = (await Promise.all(labels.map(async (label) => (await readdir(join(commandLine.values.dev, label))).map((file) => join(commandLine.values.dev, label, file)))))
  .flat()
  .sort()
  .slice(0, limit);
for (const path of devFiles) {
  const jpeg = await readFile(path);
  const reference = (await answer(jpeg)).probabilities.PNEUMONIA;
  const { data, width, height } = decodeGreyScaled(jpeg, { minWidth: Infinity, minHeight: Infinity });
  const components = jpeg[jpeg.indexOf(Buffer.from([0xff, 0xc0])) + 9];
  const size = { rows: height, columns: width };
  const encapsulated = radiographElements({ ...size, pixels: { fragments: [jpeg] } }).map((element) =>
    components === 3 && element.tag === 0x00280004 ? { ...element, value: "YBR_FULL_422" } : components === 3 && element.tag === 0x00280002 ? { ...element, value: [3] } : element,
  );
  const monochrome2 = writeDicom(radiographElements({ ...size, pixels: data }));
  const twelveBit = radiographElements({ ...size, bitsAllocated: 16, bitsStored: 12, photometric: "MONOCHROME1", window: { center: 2048, width: 4096 }, pixels: Uint16Array.from(data, (v) => (255 - v) * 16 + 8) });
  await compare("dev: JPEG encapsulated (JPEG Baseline)", writeDicom(encapsulated, { transferSyntax: "1.2.840.10008.1.2.4.50" }), reference, 0.02, path);
  await compare("dev: MONOCHROME2 8-bit", monochrome2, reference, 0.02, path);
  await compare("dev: MONOCHROME1 12-bit, windowed", writeDicom(twelveBit), reference, 0.02, path);
  await compare("dev: MONOCHROME1 12-bit, explicit VR BE", writeDicom(twelveBit, { transferSyntax: "1.2.840.10008.1.2.2" }), reference, 0.02, path);
  await compare("dev: MONOCHROME1 12-bit, deflated", writeDicom(twelveBit, { transferSyntax: "1.2.840.10008.1.2.1.99" }), reference, 0.02, path);
  const input = join(scratch, "dev.dcm");
  await writeFile(input, writeDicom(twelveBit));
  for (const [kind, command, args, lossy] of TRANSCODES.filter(([kind, , , lossy]) => !lossy && !kind.includes("VR") && kind !== "deflated")) {
    const bytes = await transcode(input, command, args);
    if (bytes) await compare(`dev: MONOCHROME1 12-bit, ${kind}`, bytes, reference, lossy ? 0.03 : 0.02, path);
  }
}
await rm(scratch, { recursive: true, force: true });

console.log("| files | count | largest P(PNEUMONIA) difference | over tolerance | refused by the gate | not decoded |");
console.log("|---|---|---|---|---|---|");
let failed = false;
for (const [kind, row] of rows) {
  console.log(`| ${kind} | ${row.count} | ${row.maxDiff.toFixed(4)} | ${row.over} | ${row.refusedByGate} | ${row.failed.length} |`);
  if (row.over > 0 || row.failed.length > 0) failed = true;
}
for (const row of rows.values()) for (const failure of row.failed) console.log(`not decoded: ${failure}`);
process.exitCode = failed ? 1 : 0;
