import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { GateVerdict } from "../errors.js";
import type { GateManifest } from "./manifest.js";
import { ModelLoadError } from "./model-load-error.js";

/**
 * The out-of-distribution gate's statistics for one model (training/gate.py fits them): scores an image's
 * pooled features by their Mahalanobis distance to the nearest training class mean. Cheap: one D x D
 * matrix-vector product (D = 512, about 0.26 M multiply-adds) per image.
 */
export class OodGate {
  private constructor(
    readonly manifest: GateManifest,
    /** W, row-major D x D: |W x|^2 is x's squared Mahalanobis norm. */
    private readonly whitening: Float32Array,
    /** W times each class mean, C x D. */
    private readonly centres: Float32Array,
  ) {}

  /** Reads the statistics file the manifest names and checks its sha256 and size; rejects with a ModelLoadError. */
  static async load(modelDir: string, manifest: GateManifest): Promise<OodGate> {
    const path = join(modelDir, manifest.file);
    const bytes = await readFile(path).catch((error: unknown) => {
      throw new ModelLoadError("modelFileMissing", `${path} cannot be read: ${(error as Error).message}`, { cause: error });
    });
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    if (sha256 !== manifest.sha256) {
      throw new ModelLoadError("checksumMismatch", `${path} has sha256 ${sha256}, but the manifest's gate expects ${manifest.sha256}.`);
    }
    const { dimensions: d, classes } = manifest;
    const values = d * d + classes * d;
    if (bytes.byteLength !== values * 4) {
      throw new ModelLoadError("manifestInvalid", `${path} has ${bytes.byteLength} bytes; a gate of ${d} dimensions and ${classes} classes needs ${values * 4}.`);
    }
    // Copied into an aligned buffer: a Buffer from readFile may sit at any offset of a shared pool.
    const all = new Float32Array(new Uint8Array(bytes).buffer);
    return new OodGate(manifest, all.subarray(0, d * d), all.subarray(d * d));
  }

  /** The verdict on one image's features (D values, from the model's features output). */
  judge(features: Float32Array): GateVerdict {
    const { dimensions: d, classes, threshold } = this.manifest;
    const projected = new Float64Array(d);
    for (let row = 0; row < d; row++) {
      let sum = 0;
      // W is upper triangular (the transposed Cholesky factor of the precision): the zeros are skipped.
      for (let col = row, at = row * d + row; col < d; col++, at++) sum += this.whitening[at]! * features[col]!;
      projected[row] = sum;
    }
    let nearest = Number.POSITIVE_INFINITY;
    for (let c = 0; c < classes; c++) {
      let squared = 0;
      for (let i = 0; i < d; i++) squared += (projected[i]! - this.centres[c * d + i]!) ** 2;
      nearest = Math.min(nearest, squared);
    }
    return { score: Math.sqrt(nearest), threshold };
  }
}
