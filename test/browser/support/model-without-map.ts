import { mkdtemp, readFile, readdir, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

const MODEL_DIR = join(import.meta.dirname, "..", "..", "..", "models", "pneumonia-cnn");

/**
 * A MODEL_DIR for the served model as a model without a class activation map would be: its files linked, its
 * manifest without `explanation`, so the classify route answers explain=true with 400 and the rest as before.
 * The caller removes the folder.
 */
export async function modelWithoutMap(): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), "pneumonia-model-without-map-"));
  for (const name of await readdir(MODEL_DIR)) {
    if (name !== "manifest.json") await symlink(join(MODEL_DIR, name), join(folder, name));
  }
  const { explanation: _left, ...manifest } = JSON.parse(await readFile(join(MODEL_DIR, "manifest.json"), "utf8"));
  await writeFile(join(folder, "manifest.json"), JSON.stringify(manifest, null, 2));
  return folder;
}
