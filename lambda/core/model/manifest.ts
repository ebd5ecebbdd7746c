import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { PreprocessingSpec } from "./preprocessing-spec.js";
import { ModelLoadError } from "./model-load-error.js";

/** Labels the model answers, in the order of its output. */
export const LABELS = ["NORMAL", "PNEUMONIA"] as const;
export type Label = (typeof LABELS)[number];

/** Figures of one evaluation, as training wrote them. */
export interface EvaluationMetrics {
  images: number;
  accuracy: number;
  auc: number;
  sensitivity: number;
  specificity: number;
  threshold: number;
}

/** The parts of `models/<name>/manifest.json` that serving relies on; training writes more. */
export interface ModelManifest {
  name: string;
  version: string;
  /** Model file name, relative to the manifest. */
  file: string;
  /** Hex sha256 of the model file, checked before the model is loaded. */
  sha256: string;
  input: { name: string; shape: [string, 1, number, number]; layout: "NCHW"; preprocessing: PreprocessingSpec };
  /** features: the output of the pooled features the gate reads. @default - none: the model has no gate */
  output: { name: string; labels: Label[]; features?: string };
  /** The out-of-distribution gate fitted for this model (training/gate.py). @default - none: every image is classified */
  gate?: GateManifest;
  /** The class activation map output that `explain=true` draws (training/cam.py). @default - none: explain is refused */
  explanation?: ExplanationManifest;
  /** PNEUMONIA probability at or above which the answer is PNEUMONIA. */
  threshold: number;
  metrics: { validation: EvaluationMetrics; dev: EvaluationMetrics };
}

/** What `manifest.gate` says: the statistics file, its checks, and the threshold. */
export interface GateManifest {
  /** File beside the manifest: float32 little-endian, the D x D whitening matrix then the C x D projected class means. */
  file: string;
  sha256: string;
  /** The model output it reads. */
  featuresOutput: string;
  /** D: values per image in the features output. */
  dimensions: number;
  /** C: class means. */
  classes: number;
  /** Scores over it are refused. */
  threshold: number;
}

/** What `manifest.explanation` says: the class activation map output and the fixed scale it is drawn on. */
export interface ExplanationManifest {
  method: "CAM";
  /** The model output: batch x 1 x height x width float32, the PNEUMONIA logit (threshold folded) each location alone would give. */
  output: string;
  width: number;
  height: number;
  /** The map's values drawn black at or below `black`, white at or above `white`, linearly between; the same for every image. */
  scale: { black: number; white: number };
}

/** Where the served model lives unless MODEL_DIR says otherwise: beside the code in the image's task root. */
export function defaultModelDir(): string {
  return process.env.MODEL_DIR ?? join(process.env.LAMBDA_TASK_ROOT ?? process.cwd(), "models", "pneumonia-cnn");
}

/** Reads and checks a manifest, failing with a ModelLoadError whose message names the file and the field at fault. */
export async function readManifest(modelDir: string): Promise<ModelManifest> {
  const path = join(modelDir, "manifest.json");
  const text = await readFile(path, "utf8").catch((error: unknown) => {
    throw new ModelLoadError("manifestMissing", `${path} cannot be read: ${(error as Error).message}`, { cause: error });
  });
  let manifest: ModelManifest;
  try {
    manifest = JSON.parse(text) as ModelManifest;
  } catch (error) {
    throw new ModelLoadError("manifestInvalid", `${path} is not JSON: ${(error as Error).message}`, { cause: error });
  }
  const problems = [
    typeof manifest.name !== "string" && "name",
    typeof manifest.version !== "string" && "version",
    typeof manifest.file !== "string" && "file",
    !/^[0-9a-f]{64}$/.test(String(manifest.sha256)) && "sha256",
    !(manifest.input?.preprocessing?.width > 0) && "input.preprocessing",
    JSON.stringify(manifest.output?.labels) !== JSON.stringify(LABELS) && "output.labels",
    !(manifest.threshold > 0 && manifest.threshold < 1) && "threshold",
    manifest.gate !== undefined && !(manifest.gate.dimensions > 0 && manifest.gate.classes > 0 && manifest.gate.threshold > 0 && /^[0-9a-f]{64}$/.test(String(manifest.gate.sha256))) && "gate",
    manifest.explanation !== undefined && !validExplanation(manifest.explanation) && "explanation",
  ].filter(Boolean);
  if (problems.length > 0) throw new ModelLoadError("manifestInvalid", `${path} is missing or has invalid: ${problems.join(", ")}`);
  return manifest;
}

function validExplanation({ method, output, width, height, scale }: ExplanationManifest): boolean {
  return method === "CAM" && typeof output === "string" && width > 0 && height > 0 && scale?.white > scale?.black;
}
