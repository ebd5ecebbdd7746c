import { describe, expect, it } from "vitest";
import { readImageHeader, sniffImageType } from "../../../lambda/core/model/image-header.js";
import { IMAGE_LIMITS } from "../../../lambda/core/limits.js";
import { anyXray } from "../../../tools/support/forms.js";
import { jpegDeclaring } from "../../support/crafted-images.js";

/** A PNG signature and IHDR chunk declaring the given size. */
function pngDeclaring(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(25);
  ihdr.writeUInt32BE(13, 0);
  ihdr.write("IHDR", 4, "latin1");
  ihdr.writeUInt32BE(width, 8);
  ihdr.writeUInt32BE(height, 12);
  ihdr.set([8, 0, 0, 0, 0], 16);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), ihdr]);
}

describe("readImageHeader", () => {
  it("reads the format and size of a real X-ray", async () => {
    // Prepare
    const bytes = await anyXray();
    // Act
    const header = readImageHeader(bytes);
    // Assess
    expect(header.type).toBe("image/jpeg");
    expect(header.width).toBeGreaterThan(500);
    expect(header.height).toBeGreaterThan(500);
    expect(header.orientation).toBe(1);
  });

  it("refuses a JPEG cut short in its compressed data with 422, which the decoder would paint grey", async () => {
    // Prepare
    const xray = await anyXray();
    // Act & Assess
    expect(() => readImageHeader(xray.subarray(0, xray.length - 4000))).toThrowError(
      expect.objectContaining({ status: 422, message: expect.stringContaining("truncated") }),
    );
    expect(readImageHeader(Buffer.concat([xray, Buffer.alloc(200)])).type).toBe("image/jpeg");
  });

  it("identifies formats by magic bytes, not by name", () => {
    expect(sniffImageType(jpegDeclaring(100, 100))).toBe("image/jpeg");
    expect(sniffImageType(pngDeclaring(100, 100))).toBe("image/png");
    expect(sniffImageType(Buffer.from("GIF89a"))).toBeUndefined();
  });

  it.each([
    ["plain text", Buffer.from("this is not an image")],
    ["a GIF", Buffer.from("GIF89a\x01\x00\x01\x00", "latin1")],
    ["a BMP", Buffer.from("BM\x00\x00\x00\x00", "latin1")],
    ["JSON", Buffer.from('{"image": "xray.jpeg"}')],
  ])("refuses %s with 415", (_name, bytes) => {
    expect(() => readImageHeader(bytes)).toThrowError(expect.objectContaining({ status: 415, code: "UNSUPPORTED_MEDIA_TYPE" }));
  });

  it.each([
    ["a JPEG of 60000x60000", jpegDeclaring(60000, 60000)],
    ["a PNG of 20000x20000", pngDeclaring(20000, 20000)],
    ["a PNG wider than the side limit", pngDeclaring(IMAGE_LIMITS.maxSide + 1, 3000)],
  ])("refuses %s with 413 before decoding", (_name, bytes) => {
    expect(() => readImageHeader(bytes)).toThrowError(expect.objectContaining({ status: 413, code: "IMAGE_TOO_LARGE" }));
  });

  it.each([
    ["an empty file", Buffer.alloc(0)],
    ["a 1x1 PNG", pngDeclaring(1, 1)],
    ["a 2000x100 strip", pngDeclaring(2000, 100)],
    ["a JPEG cut inside its header", Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00])],
  ])("refuses %s with 422 and says why", (_name, bytes) => {
    expect(() => readImageHeader(bytes)).toThrowError(expect.objectContaining({ status: 422, code: "UNUSABLE_IMAGE" }));
  });
});
