import { describe, expect, it } from "vitest";
import { displayGrey } from "../../../lambda/core/dicom/display-grey.js";
import type { DicomImage, VoiTransform } from "../../../lambda/core/dicom/read-dicom-image.js";

/** A 12-bit unsigned image description with the VOI transform given; only what displayGrey reads matters. */
function image(voi: VoiTransform, change: Partial<DicomImage> = {}): DicomImage {
  return {
    transferSyntax: { uid: "1.2.840.10008.1.2.1", name: "Explicit VR Little Endian", encoding: "native" },
    modality: "DX",
    photometric: "MONOCHROME2",
    samplesPerPixel: 1,
    rows: 1,
    columns: 5,
    bitsAllocated: 16,
    bitsStored: 12,
    highBit: 11,
    signed: false,
    rescale: { slope: 1, intercept: 0 },
    voi,
    inverted: false,
    pixelData: new Uint8Array(10),
    ...change,
  };
}

describe("displayGrey", () => {
  it("applies a linear window as PS3.3 C.11.2.1.2.1 defines it: black below, white above, a ramp across", () => {
    // Prepare: center 1000, width 201 -> black at or below 899.5, white above 1099.5
    const words = Uint16Array.from([899, 900, 1000, 1099, 1100]);
    // Act
    const grey = displayGrey(image({ kind: "window", center: 1000, width: 201, fn: "LINEAR" }), words, 0);
    // Assess
    expect(Array.from(grey)).toEqual([0, 1, 128, 254, 255]);
  });

  it("inverts MONOCHROME1, and masks bits above Bits Stored (overlays, say)", () => {
    // Prepare
    const words = Uint16Array.from([0x0000, 0xf000, 0x0fff, 0xffff, 0x0800]);
    // Act
    const grey = displayGrey(image({ kind: "full-range" }, { inverted: true }), words, 0);
    // Assess
    expect(Array.from(grey)).toEqual([255, 255, 0, 0, 127]); // 2048 of 0..4095, inverted: 127.47
  });

  it("sign-extends signed values and rescales them before the window", () => {
    // Prepare: 12-bit signed -2048, -1, 0, 2047, and 0x0fff (-1) again; slope 2, intercept 100
    const words = Uint16Array.from([0x0800, 0x0fff, 0x0000, 0x07ff, 0x0fff]);
    // Act
    const grey = displayGrey(image({ kind: "window", center: 100, width: 4, fn: "LINEAR_EXACT" }, { signed: true, rescale: { slope: 2, intercept: 100 } }), words, 0);
    // Assess: modality values -3996, 98, 100, 4194, 98 -> 0, 0.5 - 0.5, 0.5, 1, 0
    expect(Array.from(grey)).toEqual([0, 0, 128, 255, 0]);
  });

  it("maps through a VOI LUT, clamping below its first entry and above its last", () => {
    // Prepare: 3 entries from stored value 10, 8-bit output
    const voi: VoiTransform = { kind: "lut", firstMapped: 10, bits: 8, data: Uint16Array.from([0, 100, 255]) };
    // Act
    const grey = displayGrey(image(voi), Uint16Array.from([0, 10, 11, 12, 4000]), 0);
    // Assess
    expect(Array.from(grey)).toEqual([0, 0, 100, 255, 255]);
  });

  it("uses the full range of the values present when there is no VOI, and shifts native data down from High Bit", () => {
    // Prepare: values 100 and 300 stored at bits 4..15
    const words = Uint16Array.from([100 << 4, 200 << 4, 300 << 4, 300 << 4, 100 << 4]);
    // Act
    const grey = displayGrey(image({ kind: "full-range" }, { highBit: 15 }), words, 4);
    // Assess
    expect(Array.from(grey)).toEqual([0, 128, 255, 255, 0]);
  });
});
