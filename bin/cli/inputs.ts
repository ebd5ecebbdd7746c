import { stat } from "node:fs/promises";
import { glob } from "tinyglobby";

const IMAGE_PATTERN = "**/*.{jpg,jpeg,png,dcm,JPG,JPEG,PNG,DCM}";

/**
 * Expands the command line's files, folders (searched recursively for JPEG, PNG and DICOM `.dcm`) and glob patterns into a
 * sorted list of files. A named file is kept whatever its extension: the server judges its bytes.
 */
export async function expandInputs(args: readonly string[]): Promise<string[]> {
  const files = new Set<string>();
  for (const arg of args) {
    const info = await stat(arg).catch(() => undefined);
    if (info?.isFile()) files.add(arg);
    else if (info?.isDirectory()) for (const file of await glob(IMAGE_PATTERN, { cwd: arg, absolute: false })) files.add(`${arg.replace(/\/$/, "")}/${file}`);
    else for (const file of await glob(arg, { onlyFiles: true })) files.add(file);
  }
  return [...files].sort();
}
