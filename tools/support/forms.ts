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
