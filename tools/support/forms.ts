import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";

/** A multipart body as a browser or curl would send it, serialised by the platform's own encoder. */
export interface EncodedForm {
  body: Buffer;
  contentType: string;
}

/** Serialises FormData with the standard Request encoder, so tests do not hand-write valid multipart. */
export async function encodeForm(form: FormData): Promise<EncodedForm> {
  const request = new Request("http://localhost/", { method: "POST", body: form });
  return { body: Buffer.from(await request.arrayBuffer()), contentType: request.headers.get("content-type")! };
}

/**
 * The same form under the given boundary, so a file written from it has the same bytes every time (the
 * encoder draws a random boundary). Throws if the body already holds the new boundary, which would cut a part.
 */
export function withBoundary(form: EncodedForm, boundary: string): EncodedForm {
  const drawn = /boundary=(.+)$/.exec(form.contentType)?.[1];
  if (!drawn) throw new Error(`no boundary in ${form.contentType}`);
  // latin1 maps each byte to one character and back, so the file bytes between the delimiters are kept.
  const body = form.body.toString("latin1");
  if (body.includes(boundary)) throw new Error(`the boundary ${boundary} occurs in the form's content`);
  return {
    body: Buffer.from(body.split(`--${drawn}`).join(`--${boundary}`), "latin1"),
    contentType: form.contentType.replace(drawn, boundary),
  };
}

/** A form with one file part, as `curl -F file=@name` sends it. */
export function imageForm(bytes: Uint8Array, filename = "xray.jpeg", field = "file", type = "image/jpeg"): Promise<EncodedForm> {
  const form = new FormData();
  form.append(field, new Blob([bytes], { type }), filename);
  return encodeForm(form);
}

export const FIXTURES = join(import.meta.dirname, "..", "..", "test", "fixtures");

/** The full-resolution X-ray fixtures with their labels. */
export async function xrayFixtures(): Promise<{ label: "NORMAL" | "PNEUMONIA"; path: string; name: string }[]> {
  const fixtures = [];
  for (const label of ["NORMAL", "PNEUMONIA"] as const) {
    for (const name of (await readdir(join(FIXTURES, "xrays", label))).sort()) {
      fixtures.push({ label, name, path: join(FIXTURES, "xrays", label, name) });
    }
  }
  return fixtures;
}

/** One small full-resolution X-ray, for tests that need any real image. */
export function anyXray(): Promise<Buffer> {
  return readFile(join(FIXTURES, "xrays", "PNEUMONIA", "person1247_virus_2115.jpeg"));
}

/** ../shared/data/originals beside the repository: 64 full-resolution X-rays, as a clinic would upload them. */
export const ORIGINALS = join(import.meta.dirname, "..", "..", "..", "shared", "data", "originals");

/** Every image of a folder holding NORMAL/ and PNEUMONIA/ (the originals, by default), in a fixed order. */
export async function readOriginals(dir = ORIGINALS): Promise<{ name: string; bytes: Buffer }[]> {
  const images = [];
  for (const label of ["NORMAL", "PNEUMONIA"]) {
    const folder = join(dir, label);
    for (const name of (await readdir(folder)).sort()) images.push({ name, bytes: await readFile(join(folder, name)) });
  }
  return images;
}
