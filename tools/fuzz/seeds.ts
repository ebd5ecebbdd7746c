import { readFile, readdir } from "node:fs/promises";
import { basename, join } from "node:path";
import { latin1 } from "./mutator.js";
import type { Seed } from "./mutator.js";
import type { Target, WorkerData } from "./protocol.js";

/**
 * Small DICOM files in every transfer syntax read: the committed crops of a real CR (compressed by dcmtk and
 * GDCM), and files written here in the other layouts (bare dataset, implicit, big endian, deflated, a VOI LUT
 * in a sequence, signed with a rescale, a YCbCr JPEG frame).
 */
async function dicomSeeds(colourJpeg: Uint8Array): Promise<[string, Uint8Array][]> {
  const { radiographElements, writeDicom } = await import("../support/dicom-writer.js");
  const folder = "test/fixtures/dicom/small";
  const files: [string, Uint8Array][] = await Promise.all((await readdir(folder)).sort().map(async (name) => [name, await readFile(join(folder, name))] as [string, Uint8Array]));
  const [rows, columns] = [72, 64];
  const ramp = Uint16Array.from({ length: rows * columns }, (_, i) => (i * 37) % 1024);
  const base = { rows, columns, bitsAllocated: 16 as const, bitsStored: 10, pixels: ramp, window: { center: 512, width: 1024 } };
  const lut = { tag: 0x00283010, vr: "SQ", value: { items: [[
    { tag: 0x00283002, vr: "US", value: [1024, 0, 8] },
    { tag: 0x00283006, vr: "OW", value: Uint16Array.from({ length: 1024 }, (_, i) => i >> 2) },
  ]] }, undefinedLength: true };
  return [
    ...files,
    ["bare-implicit.dcm", writeDicom(radiographElements(base), { transferSyntax: "1.2.840.10008.1.2", part10: false })],
    ["implicit.dcm", writeDicom(radiographElements(base), { transferSyntax: "1.2.840.10008.1.2" })],
    ["big-endian.dcm", writeDicom(radiographElements(base), { transferSyntax: "1.2.840.10008.1.2.2" })],
    ["deflated.dcm", writeDicom(radiographElements(base), { transferSyntax: "1.2.840.10008.1.2.1.99" })],
    ["voi-lut-sequence.dcm", writeDicom(radiographElements({ ...base, window: undefined, extra: [lut] }))],
    ["signed-rescaled.dcm", writeDicom(radiographElements({ ...base, signed: true, bitsStored: 12, rescale: { slope: 2, intercept: -1024 } }))],
    [
      "ybr-jpeg.dcm",
      writeDicom(
        radiographElements({ rows: 100, columns: 80, pixels: { fragments: [colourJpeg] } }).map((element) =>
          element.tag === 0x00280004 ? { ...element, value: "YBR_FULL_422" } : element.tag === 0x00280002 ? { ...element, value: [3] } : element,
        ),
        { transferSyntax: "1.2.840.10008.1.2.4.50" },
      ),
    ],
  ];
}

/**
 * Builds the seeds (fixture JPEGs and forms, small JPEGs and PNGs, hand-written forms) and, from the same images,
 * the known-good inputs the worker re-checks to catch an input that leaves shared decoder state broken.
 */
export async function buildSeeds(): Promise<{ seeds: Seed[] } & Omit<WorkerData, "spec">> {
  const { imageForm, encodeForm, xrayFixtures } = await import("../support/forms.js");
  const { PNG } = await import("pngjs");
  const { default: sharp } = await import("sharp");
  const seeds: Seed[] = [];
  const add = (name: string, target: Target, bytes: Uint8Array, contentType: string | null, weight = 1) =>
    seeds.push({ name, target, bytes, contentType, weight });

  const fixtures = await xrayFixtures();
  const xrays: { name: string; bytes: Buffer }[] = [];
  for (const fixture of fixtures) xrays.push({ name: `${fixture.label}/${fixture.name}`, bytes: await readFile(fixture.path) });

  // Images: the raw fixture JPEGs, small JPEGs derived from one (fast to decode, so most mutations land in
  // headers and tables), and small PNGs made with pngjs.
  for (const xray of xrays) add(`jpeg:${xray.name}`, "image", xray.bytes, null, 1);
  const source = sharp(xrays[0]!.bytes);
  const small: [string, Buffer][] = [
    ["small-grey-baseline", await source.clone().resize(96, 96).grayscale().jpeg({ quality: 75 }).toBuffer()],
    ["small-grey-progressive", await source.clone().resize(120, 80).grayscale().jpeg({ quality: 75, progressive: true }).toBuffer()],
    ["small-colour-420", await source.clone().resize(80, 100).tint("#ffcc99").jpeg({ quality: 70, chromaSubsampling: "4:2:0" }).toBuffer()],
    ["small-colour-444-progressive", await source.clone().resize(100, 72).tint("#99ccff").jpeg({ quality: 90, chromaSubsampling: "4:4:4", progressive: true }).toBuffer()],
    ["small-exif-orientation-6", await source.clone().resize(128, 96).grayscale().withMetadata({ orientation: 6 }).jpeg().toBuffer()],
    ["small-optimised-huffman", await source.clone().resize(96, 128).grayscale().jpeg({ quality: 50, optimiseCoding: true, trellisQuantisation: true }).toBuffer()],
    // Large enough that the decoder reduces it (to 1/2: 300x280), as it does every full-resolution X-ray.
    ["grey-decoded-at-half-scale", await source.clone().resize(600, 560).grayscale().jpeg({ quality: 60 }).toBuffer()],
  ];
  for (const [name, bytes] of small) add(`jpeg:${name}`, "image", bytes, null, 2);
  const png = (width: number, height: number, colorType: 0 | 2 | 4 | 6, bitDepth: 8 | 16, inputHasAlpha = true) => {
    const image = new PNG({ width, height });
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const i = (y * width + x) * 4;
        const v = (x * 255) / width;
        image.data[i] = v;
        image.data[i + 1] = colorType === 0 || colorType === 4 ? v : (y * 255) / height;
        image.data[i + 2] = colorType === 0 || colorType === 4 ? v : 128;
        image.data[i + 3] = 255 - ((x + y) % 7);
      }
    }
    return PNG.sync.write(image, { colorType, bitDepth, inputHasAlpha });
  };
  add("png:grey-96x80", "image", png(96, 80, 0, 8), null, 2);
  add("png:rgba-80x96", "image", png(80, 96, 6, 8), null, 2);
  add("png:grey-alpha-72x72", "image", png(72, 72, 4, 8), null, 1);
  add("png:rgb16-64x100", "image", png(64, 100, 2, 16), null, 1);

  // Forms: every fixture as curl -F would send it, small images in forms, and forms no browser sends.
  for (const xray of xrays) {
    const form = await imageForm(xray.bytes, basename(xray.name));
    add(`form:${xray.name}`, "multipart", form.body, form.contentType, 1);
  }
  const smallForm = await imageForm(small[0]![1], "small.jpeg");
  add("form:small-jpeg", "multipart", smallForm.body, smallForm.contentType, 3);
  const pngForm = await imageForm(png(96, 80, 0, 8), "small.png", "file", "image/png");
  add("form:small-png", "multipart", pngForm.body, pngForm.contentType, 2);
  const withFields = new FormData();
  withFields.append("note", "patient 1");
  withFields.append("file", new Blob([Uint8Array.from([0xff, 0xd8, 0xff, 0xd9])], { type: "image/jpeg" }), "tiny.jpeg");
  withFields.append("files", "not a file");
  const fieldsForm = await encodeForm(withFields);
  add("form:fields-and-file", "multipart", fieldsForm.body, fieldsForm.contentType, 3);
  const B = "----fuzz-boundary";
  const raw = (...parts: string[]) => latin1(parts.map((p) => `--${B}\r\n${p}\r\n`).join("") + `--${B}--\r\n`);
  const file = (name: string, content: string, filename = "x.jpeg") =>
    `Content-Disposition: form-data; name="${name}"; filename="${filename}"\r\nContent-Type: image/jpeg\r\n\r\n${content}`;
  const text = (name: string, value: string) => `Content-Disposition: form-data; name="${name}"\r\n\r\n${value}`;
  const ct = `multipart/form-data; boundary=${B}`;
  add("form:raw-one-file", "multipart", raw(file("file", "\xff\xd8\xff\xe0JFIF")), ct, 3);
  add("form:raw-two-files", "multipart", raw(file("file", "a"), file("file", "b")), ct, 2);
  add("form:raw-other-field", "multipart", raw(file("image", "a"), text("file", "x")), ct, 2);
  add("form:raw-empty-file", "multipart", raw(file("file", "")), ct, 1);
  add("form:raw-empty", "multipart", latin1(`--${B}--\r\n`), ct, 1);
  add("form:raw-many-fields", "multipart", raw(...Array.from({ length: 15 }, (_, i) => text(`f${i}`, "v")), file("file", "z")), ct, 2);
  add("form:raw-quoted-boundary", "multipart", raw(file("file", "q")), `multipart/form-data; boundary="${B}"`, 1);

  const dicom = await dicomSeeds(small[2]![1]);
  for (const [name, bytes] of dicom) add(`dicom:${name}`, "dicom", bytes, null, 2);
  const dicomCanary = (name: string) => dicom.find(([seed]) => seed === name)![1];

  return {
    seeds,
    canaryImage: xrays[0]!.bytes,
    canaryForm: { body: smallForm.body, contentType: smallForm.contentType },
    quickCanaries: [small[0]![1], small[1]![1], small.at(-1)![1], png(96, 80, 0, 8), dicomCanary("cr-crop-j2k.dcm"), dicomCanary("cr-crop-jpegls.dcm")],
  };
}
