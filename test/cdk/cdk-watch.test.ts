import { readFileSync } from "node:fs";
import { join } from "node:path";
import { globSync } from "tinyglobby";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../support/synth.js";

/**
 * The files `cdk watch` follows, listed with cdk.json's watch patterns. The CLI matches them with picomatch, as
 * tinyglobby does; it also appends `/**` to a pattern without wildcards, which matches the same files.
 */
function watchedFiles(): string[] {
  const { watch } = JSON.parse(readFileSync(join(REPO_ROOT, "cdk.json"), "utf8")) as { watch: { include: string[]; exclude: string[] } };
  return globSync(watch.include, { cwd: REPO_ROOT, ignore: watch.exclude, dot: true });
}

describe("cdk.json watch", () => {
  it("follows the app, its constructs, and the code and model the images are built from", () => {
    // Prepare
    const expected = ["bin/app.ts", "lib/pneumonia-classifier-stack.ts", "lambda/handler.ts", "lambda/Dockerfile", "lambda/Dockerfile.gpu", "models/pneumonia-cnn/model.onnx"];

    // Act
    const files = watchedFiles();

    // Assess
    expect(files).toEqual(expect.arrayContaining(expected));
  });

  it("ignores tests, tools, training, dependencies and the cloud assembly", () => {
    // Prepare
    const outside = /^(test|training|node_modules|cdk\.out)\/|\.test\.ts$|^bin\/(?!app\.ts$)/;

    // Act
    const files = watchedFiles();

    // Assess
    expect(files.filter((file) => outside.test(file))).toEqual([]);
  });
});
