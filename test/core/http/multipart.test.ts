import { describe, expect, it } from "vitest";
import { parseImageUpload } from "../../../lambda/core/http/multipart.js";
import { FORM_LIMITS, IMAGE_LIMITS } from "../../../lambda/core/limits.js";
import { anyXray, encodeForm, imageForm } from "../../../tools/support/forms.js";

const BOUNDARY = "----xray-test-boundary";
const MULTIPART = `multipart/form-data; boundary=${BOUNDARY}`;

/** A hand-written multipart body, for forms no well-behaved client would send. */
function rawForm(...parts: string[]): Buffer {
  return Buffer.from(parts.map((part) => `--${BOUNDARY}\r\n${part}\r\n`).join("") + `--${BOUNDARY}--\r\n`, "latin1");
}
const filePart = (name: string, content: string) =>
  `Content-Disposition: form-data; name="${name}"; filename="x.jpeg"\r\nContent-Type: image/jpeg\r\n\r\n${content}`;
const textPart = (name: string, value: string) => `Content-Disposition: form-data; name="${name}"\r\n\r\n${value}`;

describe("parseImageUpload", () => {
  it("returns the file byte for byte, with its name and declared type", async () => {
    // Prepare
    const xray = await anyXray();
    const { body, contentType } = await imageForm(xray, "xray.jpeg");
    // Act
    const upload = await parseImageUpload(body, contentType);
    // Assess
    expect(upload.bytes.equals(xray)).toBe(true);
    expect(upload.filename).toBe("xray.jpeg");
    expect(upload.declaredType).toBe("image/jpeg");
  });

  it.each([
    ["application/dicom", "application/dicom"],
    ["application/octet-stream", "application/octet-stream"],
    ["no type", undefined],
  ])("passes a DICOM file declared as %s through byte for byte", async (_what, declared) => {
    // Prepare: busboy reports a part without Content-Type as text/plain; the bytes decide either way
    const dicom = Buffer.concat([Buffer.alloc(128), Buffer.from("DICM"), Buffer.from([0, 1, 2, 3, 0x0d, 0x0a, 0xff])]);
    const type = declared ? `\r\nContent-Type: ${declared}` : "";
    const body = Buffer.concat([
      Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="chest.dcm"${type}\r\n\r\n`, "latin1"),
      dicom,
      Buffer.from(`\r\n--${BOUNDARY}--\r\n`, "latin1"),
    ]);
    // Act
    const upload = await parseImageUpload(body, MULTIPART);
    // Assess
    expect(upload.bytes.equals(dicom)).toBe(true);
    expect(upload.declaredType).toBe(declared ?? "text/plain");
  });

  it("accepts a text field named files after the file (crashed lambda-multipart-parser)", async () => {
    const form = new FormData();
    form.append("file", new Blob([await anyXray()]), "xray.jpeg");
    form.append("files", "not a file");
    const { body, contentType } = await encodeForm(form);
    await expect(parseImageUpload(body, contentType)).resolves.toMatchObject({ filename: "xray.jpeg" });
  });

  it("refuses a body cut before its closing boundary with 400 (crashed lambda-multipart-parser)", async () => {
    const { body, contentType } = await imageForm(await anyXray());
    const truncated = body.subarray(0, body.length - 200);
    await expect(parseImageUpload(truncated, contentType)).rejects.toMatchObject({ status: 400, code: "MALFORMED_FORM" });
  });

  it("refuses a body cut inside the part headers with 400", async () => {
    const truncated = Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-da`, "latin1");
    await expect(parseImageUpload(truncated, MULTIPART)).rejects.toMatchObject({ status: 400 });
  });

  it("refuses a form that closes before its parts with 400 instead of waiting forever (found by npm run fuzz)", async () => {
    // Prepare: the first delimiter turned into a closing one, then fields and a file part cut after its content
    const form = rawForm(...Array.from({ length: 15 }, (_, i) => textPart(`f${i}`, "v")), filePart("file", "z")).toString("latin1");
    const closedFirst = form.replace(`--${BOUNDARY}`, `--${BOUNDARY}--`);
    const body = Buffer.from(closedFirst.slice(0, closedFirst.lastIndexOf("z\r\n") + 2), "latin1");
    // Act
    const started = performance.now();
    const error = await parseImageUpload(body, MULTIPART).catch((e: unknown) => e);
    // Assess
    expect(error).toMatchObject({ status: 400, code: "MALFORMED_FORM" });
    expect(performance.now() - started).toBeLessThan(FORM_LIMITS.parseTimeoutMs + 500);
  });

  it.each([
    ["no Content-Type", undefined],
    ["JSON", "application/json"],
    ["urlencoded", "application/x-www-form-urlencoded"],
    ["a raw image body", "image/jpeg"],
  ])("refuses %s with 415", async (_name, contentType) => {
    await expect(parseImageUpload(Buffer.from("{}"), contentType)).rejects.toMatchObject({ status: 415, code: "UNSUPPORTED_MEDIA_TYPE" });
  });

  it("refuses multipart without a boundary with 400", async () => {
    await expect(parseImageUpload(rawForm(filePart("file", "x")), "multipart/form-data")).rejects.toMatchObject({
      status: 400,
      code: "MALFORMED_FORM",
    });
  });

  it.each([
    ["an empty form", rawForm(), "MISSING_FILE"],
    ["text fields only", rawForm(textPart("name", "x"), textPart("age", "3")), "MISSING_FILE"],
    ["the file under another name", rawForm(filePart("image", "x")), "MISSING_FILE"],
    ["text in the file field", rawForm(textPart("file", "xray.jpeg")), "MISSING_FILE"],
    ["an empty file", rawForm(filePart("file", "")), "EMPTY_FILE"],
    ["two files", rawForm(filePart("file", "a"), filePart("file", "b")), "TOO_MANY_FILES"],
  ])("refuses %s with 400 and names the problem", async (_name, body, code) => {
    const error = await parseImageUpload(body, MULTIPART).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 400, code });
    expect((error as Error).message).toContain('"file"');
  });

  it("ignores prototype-like field names", async () => {
    const body = rawForm(textPart("__proto__", "x"), textPart("constructor", "y"), filePart("file", "bytes"));
    await expect(parseImageUpload(body, MULTIPART)).resolves.toMatchObject({ bytes: Buffer.from("bytes") });
  });

  it("refuses a file over the size limit with 413", async () => {
    const { body, contentType } = await imageForm(Buffer.alloc(IMAGE_LIMITS.maxFileBytes + 1, 1));
    await expect(parseImageUpload(body, contentType)).rejects.toMatchObject({ status: 413, code: "PAYLOAD_TOO_LARGE" });
  });

  it("refuses thousands of parts with 413", async () => {
    const parts = Array.from({ length: 2000 }, (_, i) => textPart(`f${i}`, "x"));
    await expect(parseImageUpload(rawForm(...parts), MULTIPART)).rejects.toMatchObject({ status: 413, code: "TOO_MANY_PARTS" });
  });

  it("reads a part with more header lines than the limit, keeping only the first", async () => {
    const headers = Array.from({ length: FORM_LIMITS.maxHeaderPairs * 4 }, (_, i) => `X-Header-${i}: y`).join("\r\n");
    const body = rawForm(`${filePart("file", "bytes").replace("\r\n\r\n", `\r\n${headers}\r\n\r\n`)}`);
    await expect(parseImageUpload(body, MULTIPART)).resolves.toMatchObject({ bytes: Buffer.from("bytes") });
  });

  it("refuses a part header larger than busboy's 16 KiB bound with 400", async () => {
    const body = rawForm(filePart("file", "bytes").replace("\r\n\r\n", `\r\nX-Padding: ${"a".repeat(64 * 1024)}\r\n\r\n`));
    await expect(parseImageUpload(body, MULTIPART)).rejects.toMatchObject({ status: 400, code: "MALFORMED_FORM" });
  });
});
