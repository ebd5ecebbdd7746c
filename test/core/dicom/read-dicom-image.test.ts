import { describe, expect, it } from "vitest";
import { readDicomImage } from "../../../lambda/core/dicom/read-dicom-image.js";
import { radiographElements, writeDicom, type DicomElement, type RadiographOptions } from "../../../tools/support/dicom-writer.js";

const ROWS = 96;
const COLUMNS = 80;

/** A valid 8-bit DX radiograph, with `change` applied to its options and `elements` added or replacing by tag. */
function radiograph(change: Partial<RadiographOptions> = {}, elements: DicomElement[] = [], transferSyntax?: string): Buffer {
  const options: RadiographOptions = { rows: ROWS, columns: COLUMNS, pixels: new Uint8Array(ROWS * COLUMNS).fill(100), ...change };
  const replaced = new Set(elements.map((element) => element.tag));
  const all = [...radiographElements(options).filter((element) => !replaced.has(element.tag)), ...elements];
  return writeDicom(all, transferSyntax ? { transferSyntax } : {});
}

const without = (tag: number) => radiographElements({ rows: ROWS, columns: COLUMNS, pixels: new Uint8Array(ROWS * COLUMNS) }).filter((element) => element.tag !== tag);

describe("readDicomImage", () => {
  it("reads a DX radiograph's size, bits, photometric interpretation and transfer syntax", () => {
    // Act
    const image = readDicomImage(radiograph({ bitsAllocated: 16, bitsStored: 12, photometric: "MONOCHROME1", pixels: new Uint16Array(ROWS * COLUMNS) }));
    // Assess
    expect(image).toMatchObject({ rows: ROWS, columns: COLUMNS, bitsAllocated: 16, bitsStored: 12, photometric: "MONOCHROME1", inverted: true, modality: "DX" });
    expect(image.transferSyntax.name).toBe("Explicit VR Little Endian");
    expect(image.pixelData.length).toBe(ROWS * COLUMNS * 2);
  });

  it("reads the first window of several, and the VOI LUT function", () => {
    // Act
    const image = readDicomImage(
      radiograph({}, [
        { tag: 0x00281050, vr: "DS", value: "40\\60" },
        { tag: 0x00281051, vr: "DS", value: "80\\100" },
        { tag: 0x00281056, vr: "CS", value: "SIGMOID" },
      ]),
    );
    // Assess
    expect(image.voi).toEqual({ kind: "window", center: 40, width: 80, fn: "SIGMOID" });
  });

  it("inverts a MONOCHROME2 image whose Presentation LUT Shape is INVERSE", () => {
    // Act
    const image = readDicomImage(radiograph({}, [{ tag: 0x20500020, vr: "CS", value: "INVERSE" }]));
    // Assess
    expect(image.inverted).toBe(true);
  });

  it.each([
    ["no pixel data (a report)", without(0x7fe00010), 422, "UNSUPPORTED_DICOM", /no pixel data/],
    ["several frames", [...without(0x00280008), { tag: 0x00280008, vr: "IS", value: "3" }], 422, "UNSUPPORTED_DICOM", /3 frames/],
    ["a CT image", [...without(0x00080060), { tag: 0x00080060, vr: "CS", value: "CT" }], 422, "UNSUPPORTED_DICOM", /modality is CT/],
    ["colour", [...without(0x00280004), { tag: 0x00280004, vr: "CS", value: "RGB" }], 422, "UNSUPPORTED_DICOM", /RGB .* not greyscale/],
    ["1 bit stored", [...without(0x00280101), { tag: 0x00280101, vr: "US", value: [1] }], 422, "UNSUPPORTED_DICOM", /1 bits in 8/],
  ])("refuses %s with %i %s", (_what, elements, status, code, message) => {
    // Act and Assess
    expect(() => readDicomImage(writeDicom(elements))).toThrowError(expect.objectContaining({ status, code, message: expect.stringMatching(message) }));
  });

  it("refuses a transfer syntax it does not read with 415, naming it", () => {
    // Act and Assess
    expect(() => readDicomImage(radiograph({}, [], "1.2.840.10008.1.2.4.201"))).toThrowError(
      expect.objectContaining({ status: 415, message: expect.stringContaining("High-Throughput JPEG 2000 (Lossless Only) (1.2.840.10008.1.2.4.201)") }),
    );
  });

  it("refuses pixel data shorter than Rows x Columns x Bits Allocated", () => {
    // Act and Assess
    expect(() => readDicomImage(radiograph({ pixels: new Uint8Array(ROWS * COLUMNS - 100) }))).toThrowError(
      expect.objectContaining({ status: 422, code: "UNUSABLE_IMAGE", message: expect.stringContaining(`declares ${COLUMNS}x${ROWS} pixels of 8 bits (${ROWS * COLUMNS} bytes)`) }),
    );
  });

  it.each([200, 300, 400, 1000])("refuses a file cut short after %i bytes with 422", (length) => {
    // Prepare
    const whole = radiograph();
    // Act and Assess
    expect(() => readDicomImage(whole.subarray(0, length))).toThrowError(expect.objectContaining({ status: 422 }));
  });

  it("refuses huge Rows and Columns with 413 before reading any pixel", () => {
    // Act and Assess
    expect(() => readDicomImage(radiograph({ rows: 65535, columns: 65535, pixels: new Uint8Array(16) }))).toThrowError(
      expect.objectContaining({ status: 413, code: "IMAGE_TOO_LARGE" }),
    );
  });

  it("repeats no header value but modality, photometric interpretation, bits stored and transfer syntax in any refusal", () => {
    // Prepare: refusals of every kind, from files that carry a patient's name
    const files = [radiograph({ modality: "MR" }), radiograph({ pixels: new Uint8Array(10) }), writeDicom(without(0x7fe00010)), radiograph({}, [], "1.2.3.4")];
    // Act
    const messages = files.map((file) => {
      try {
        readDicomImage(file);
        return "";
      } catch (error) {
        return (error as Error).message;
      }
    });
    // Assess
    expect(messages.every(Boolean)).toBe(true);
    for (const message of messages) expect(message).not.toMatch(/Test|Patient|1\.2\.826/);
  });
});
