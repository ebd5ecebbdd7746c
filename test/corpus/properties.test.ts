import { readFile } from "node:fs/promises";
import { join } from "node:path";
import fc from "fast-check";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { handler } from "../../lambda/handler.js";
import { toCoreRequest } from "../../lambda/adapters/api-gateway-event.js";
import { parseImageUpload } from "../../lambda/core/http/multipart.js";
import { httpApiEvent, lambdaContext, restApiEvent } from "../../tools/support/api-gateway-events.js";
import { anyXray, imageForm } from "../../tools/support/forms.js";

/** Anything that escapes the handler's error mapping lands here, and fails the test. */
const escaped: unknown[] = [];
const record = (error: unknown) => escaped.push(error);

beforeAll(() => {
  process.on("uncaughtException", record);
  process.on("unhandledRejection", record);
});

afterAll(() => {
  process.off("uncaughtException", record);
  process.off("unhandledRejection", record);
});

const filename = fc.string({ minLength: 1, maxLength: 40 }).filter((name) => !/["\r\n\\]/.test(name));

describe("multipart properties", () => {
  it("delivers any file bytes to the decoder byte for byte, from a raw body and through base64 events", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 4096 }), filename, async (bytes, name) => {
        // Prepare
        const { body, contentType } = await imageForm(bytes, name);
        // Act
        const fromRaw = await parseImageUpload(body, contentType);
        const fromRest = toCoreRequest(restApiEvent({ body, headers: { "Content-Type": contentType } }));
        const fromHttpApi = toCoreRequest(httpApiEvent({ body, headers: { "content-type": contentType } }));
        // Assess
        expect(fromRaw.bytes.equals(Buffer.from(bytes))).toBe(true);
        for (const request of [fromRest, fromHttpApi]) {
          expect((await parseImageUpload(request.body, request.headers["content-type"])).bytes.equals(Buffer.from(bytes))).toBe(true);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe("handler properties", () => {
  let form: { body: Buffer; contentType: string };

  beforeAll(async () => {
    form = await imageForm(await sharp(await anyXray()).resize(256).jpeg().toBuffer());
  });

  /** Mutations a broken client or an attacker could make to a valid form. */
  const mutation = fc.oneof(
    fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
    fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }) }),
    fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), length: fc.integer({ min: 1, max: 512 }) }),
  );

  type Mutation = { kind: "flip" | "truncate" | "insert" | "delete"; at: number; value?: number; bytes?: Uint8Array; length?: number };

  function mutate(body: Buffer, mutations: Mutation[]): Buffer {
    let out = Buffer.from(body);
    for (const m of mutations) {
      const at = m.at % Math.max(out.length, 1);
      if (m.kind === "flip") out[at] = m.value!;
      else if (m.kind === "truncate") out = out.subarray(0, at);
      else if (m.kind === "insert") out = Buffer.concat([out.subarray(0, at), Buffer.from(m.bytes!), out.subarray(at)]);
      else out = Buffer.concat([out.subarray(0, at), out.subarray(at + m.length!)]);
    }
    return out;
  }

  it.each(["cr-crop-j2k.dcm", "cr-crop-jpegls.dcm", "cr-crop-jpeg-lossless-sv1.dcm", "cr-crop-jpeg-extended-12.dcm", "cr-crop-rle.dcm", "cr-crop-explicit-le.dcm"])(
    "answers any mutation of a DICOM file (%s) in a valid form with a result or a typed 4xx, and nothing escapes",
    async (name) => {
      // Prepare
      const dicom = await readFile(join("test/fixtures/dicom/small", name));
      await fc.assert(
        fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 4 }), async (mutations) => {
          const { body, contentType } = await imageForm(mutate(dicom, mutations), name, "file", "application/dicom");
          // Act
          const result = await handler(restApiEvent({ body, headers: { "content-type": contentType } }), lambdaContext);
          // Assess
          if (typeof result === "string") throw new Error("the handler answered a bare string");
          const status = result.statusCode ?? 0;
          expect(status === 200 || (status >= 400 && status < 500), result.body).toBe(true);
        }),
        { numRuns: 100 },
      );
      expect(escaped).toEqual([]);
    },
  );

  it("answers any mutation of a valid form with a result or a typed 4xx, and nothing escapes", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 4 }), fc.boolean(), async (mutations, useHttpApi) => {
        // Prepare
        const body = mutate(form.body, mutations);
        const buildEvent = useHttpApi ? httpApiEvent : restApiEvent;
        // Act
        const result = await handler(buildEvent({ body, headers: { "content-type": form.contentType } }), lambdaContext);
        // Assess
        if (typeof result === "string") throw new Error("the handler answered a bare string");
        const json = JSON.parse(result.body!);
        if (result.statusCode === 200) expect(["NORMAL", "PNEUMONIA"]).toContain(json.prediction);
        else {
          expect(result.statusCode).toBeGreaterThanOrEqual(400);
          expect(result.statusCode).toBeLessThan(500);
          expect(json.error.code).toMatch(/^[A-Z_]+$/);
        }
      }),
      { numRuns: 300 },
    );
    expect(escaped).toEqual([]);
  });
});
