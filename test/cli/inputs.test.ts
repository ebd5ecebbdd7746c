import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expandInputs } from "../../bin/cli/inputs.js";

let folder: string;

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), "cli-inputs-"));
  await mkdir(join(folder, "series"));
  for (const name of ["a.jpeg", "b.PNG", "series/c.dcm", "series/D.DCM", "notes.txt", "series/DICOMDIR"]) await writeFile(join(folder, name), "x");
});

afterAll(async () => {
  if (folder) await rm(folder, { recursive: true, force: true });
});

describe("expandInputs", () => {
  it("searches a folder for JPEG, PNG and DICOM (.dcm) files, recursively, and nothing else", async () => {
    // Act
    const files = await expandInputs([folder]);
    // Assess
    expect(files).toEqual(["a.jpeg", "b.PNG", "series/D.DCM", "series/c.dcm"].map((name) => join(folder, name)));
  });

  it("keeps a named file whatever its extension: the server judges its bytes", async () => {
    // Act and Assess
    expect(await expandInputs([join(folder, "series/DICOMDIR")])).toEqual([join(folder, "series/DICOMDIR")]);
  });
});
