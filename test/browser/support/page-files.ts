import { existsSync } from "node:fs";
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import type { Page } from "playwright-core";

const ROOT = join(import.meta.dirname, "..", "..", "..");
/** The shared data beside the checkout (../shared from the repository root), where it exists. */
const SHARED_DATA = join(ROOT, "..", "shared", "data");

/** A file as the page is given it. */
export interface PageFile {
  name: string;
  type: string;
  bytes: Buffer;
}

async function fixture(path: string, name = path.split("/").at(-1)!): Promise<PageFile> {
  return { name, type: name.endsWith(".dcm") ? "application/dicom" : "image/jpeg", bytes: await readFile(join(ROOT, path)) };
}

/** The first `count` files of a folder of the shared data, or none where the shared data is absent. */
async function sharedFiles(folder: string, count: number): Promise<PageFile[]> {
  const path = join(SHARED_DATA, folder);
  if (!existsSync(path)) return [];
  const names = (await readdir(path)).sort().slice(0, count);
  return Promise.all(names.map(async (name) => ({ name, type: name.endsWith(".dcm") ? "application/dicom" : "image/jpeg", bytes: await readFile(join(path, name)) })));
}

/** The XSS probe of the issue: a file name that would run script if the page ever parsed names as HTML. */
export const XSS_NAME = "<img src=x onerror=alert(1)>.jpeg";
/** A file name a spreadsheet would run as a formula if the CSV did not escape it. */
export const FORMULA_NAME = "=HYPERLINK(1+1).jpeg";

/**
 * What the page is given: real X-rays (fixtures, and dev images of the shared data where present), an X-ray
 * under the XSS name, and files it must refuse: a photo (also under a formula's name) and a truncated JPEG;
 * a DICOM file where the shared data has one, which the browser cannot show.
 */
export async function mixedFiles(): Promise<PageFile[]> {
  const xray = await fixture("test/fixtures/xrays/PNEUMONIA/person1184_bacteria_3132.jpeg");
  const photo = await fixture("test/fixtures/ood/photos/rocket.jpeg");
  return [
    xray,
    await fixture("test/fixtures/xrays/NORMAL/IM-0199-0001.jpeg"),
    ...(await sharedFiles("chest_xray/dev/NORMAL", 1)),
    ...(await sharedFiles("chest_xray/dev/PNEUMONIA", 1)),
    photo,
    { name: "truncated.jpeg", type: "image/jpeg", bytes: xray.bytes.subarray(0, Math.floor(xray.bytes.length / 2)) },
    { ...xray, name: XSS_NAME },
    { ...photo, name: FORMULA_NAME },
    ...(await sharedFiles("dicom/chest", 1)),
  ];
}

/** One X-ray, for the tests that need a single answer. */
export function oneXray(): Promise<PageFile> {
  return fixture("test/fixtures/xrays/PNEUMONIA/person1184_bacteria_3132.jpeg");
}

/** Drops the files onto the page's drop zone, as a user dragging them from a file manager does. */
export async function dropFiles(page: Page, files: readonly PageFile[]): Promise<void> {
  const encoded = files.map(({ name, type, bytes }) => ({ name, type, base64: bytes.toString("base64") }));
  const dataTransfer = await page.evaluateHandle((list) => {
    const transfer = new DataTransfer();
    for (const { name, type, base64 } of list) {
      transfer.items.add(new File([Uint8Array.from(atob(base64), (c) => c.charCodeAt(0))], name, { type }));
    }
    return transfer;
  }, encoded);
  await page.dispatchEvent("#drop-zone", "drop", { dataTransfer });
}

/** What the server answers a file sent alone, straight to the API: what its card must show. */
export async function answerOf(url: string, file: PageFile): Promise<{ status: number; body: any }> {
  const form = new FormData();
  form.append("file", new Blob([new Uint8Array(file.bytes)], { type: file.type }), file.name);
  const response = await fetch(`${url}/pneumonia_classifier?explain=true`, { method: "POST", body: form });
  return { status: response.status, body: await response.json() };
}
