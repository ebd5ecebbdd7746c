import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { LABELS, readManifest, type Label, type ModelManifest } from "./manifest.js";
import { ModelLoadError } from "./model-load-error.js";
import { usableCpuCount } from "../cpu-count.js";
import type { GateVerdict } from "../errors.js";
import { OodGate } from "./ood-gate.js";

/** What the model says about one image. */
export interface Classification {
  prediction: Label;
  /** Probability of the predicted label. */
  probability: number;
  probabilities: Record<Label, number>;
  /**
   * The out-of-distribution gate's verdict, for assertChestXray to act on; not part of the client's answer.
   * @default - none: the model has no gate
   */
  gate?: GateVerdict;
  /**
   * The class activation map: width x height of the manifest's explanation, row-major, each value the PNEUMONIA
   * logit that location alone would give (its mean is the image's logit). @default - none: not asked for
   */
  cam?: Float32Array;
}

/** An ONNX Runtime execution provider name, such as "cpu" or "cuda". */
export type ExecutionProviderName = ort.InferenceSession.ExecutionProviderName;

/** Options for loading; every one has a default suited to one process serving one request at a time. */
export interface OnnxModelOptions {
  /** Threads for one inference on the CPU. @default - the CPUs the process can use */
  threads?: number;
  /**
   * Execution providers in order of preference; a node the first cannot run falls to the next. One whose
   * libraries are missing (cuda without the CUDA provider files, say) fails the load rather than falling back.
   * @default ["cpu"]
   */
  executionProviders?: readonly ExecutionProviderName[];
  /**
   * Whether idle inference threads spin waiting for work. Spinning shortens a lone request; where other
   * threads need the cores (the batching server's preprocessing workers), it only burns them.
   * @default true
   */
  spinWhileIdle?: boolean;
}

/** One ONNX Runtime session over the model a manifest describes. Create one per process. */
export class OnnxModel {
  private constructor(
    readonly manifest: ModelManifest,
    private readonly session: ort.InferenceSession,
    /** The execution providers the session was created with. */
    readonly executionProviders: readonly ExecutionProviderName[],
    private readonly gate: OodGate | undefined,
  ) {}

  /**
   * Reads the manifest, checks the model file's sha256, creates the session and warms it with one inference.
   * Rejects with a ModelLoadError that says which step failed.
   */
  static async load(modelDir: string, options: OnnxModelOptions = {}): Promise<OnnxModel> {
    const manifest = await readManifest(modelDir);
    const modelPath = join(modelDir, manifest.file);
    const modelBytes = await readFile(modelPath).catch((error: unknown) => {
      throw new ModelLoadError("modelFileMissing", `${modelPath} cannot be read: ${(error as Error).message}`, { cause: error });
    });
    const sha256 = createHash("sha256").update(modelBytes).digest("hex");
    if (sha256 !== manifest.sha256) {
      throw new ModelLoadError("checksumMismatch", `${modelPath} has sha256 ${sha256}, but the manifest expects ${manifest.sha256}; the model file is not the one trained.`);
    }
    const executionProviders = options.executionProviders ?? ["cpu"];
    const session = await ort.InferenceSession.create(modelBytes, {
      executionProviders,
      intraOpNumThreads: options.threads ?? usableCpuCount(),
      interOpNumThreads: 1,
      executionMode: "sequential",
      graphOptimizationLevel: "all",
      extra: { session: { intra_op: { allow_spinning: options.spinWhileIdle === false ? "0" : "1" } } },
    }).catch((error: unknown) => {
      throw new ModelLoadError("sessionFailed", `ONNX Runtime could not create a session from ${modelPath} on ${executionProviders.join(", ")}: ${(error as Error).message}`, { cause: error });
    });
    if (manifest.gate && !session.outputNames.includes(manifest.gate.featuresOutput)) {
      throw new ModelLoadError("manifestInvalid", `${modelPath} has no output ${manifest.gate.featuresOutput}, which the manifest's gate reads (outputs: ${session.outputNames.join(", ")}).`);
    }
    if (manifest.explanation && !session.outputNames.includes(manifest.explanation.output)) {
      throw new ModelLoadError("manifestInvalid", `${modelPath} has no output ${manifest.explanation.output}, which the manifest's explanation reads (outputs: ${session.outputNames.join(", ")}).`);
    }
    const gate = manifest.gate && (await OodGate.load(modelDir, manifest.gate));
    const model = new OnnxModel(manifest, session, executionProviders, gate);
    // The first run allocates and tunes kernels; paying it at start-up keeps it off the first request.
    await model.classify(new Float32Array(model.inputSize));
    return model;
  }

  /** Values in one image's input tensor. */
  get inputSize(): number {
    const { width, height } = this.manifest.input.preprocessing;
    return width * height;
  }

  /** Classifies one preprocessed image (1 x 1 x H x W values), with its class activation map when `explain` is true. */
  async classify(tensor: Float32Array, explain = false): Promise<Classification> {
    return (await this.classifyBatch([tensor], [explain]))[0]!;
  }

  /**
   * Classifies preprocessed images in one run of the model (N x 1 x H x W), answering in their order, with a
   * class activation map for each image whose `explain` is true (the model must have an explanation output). One run over
   * many images is what keeps an accelerator busy; on the CPU it costs about the same per image.
   */
  async classifyBatch(tensors: readonly Float32Array[], explain: readonly boolean[] = []): Promise<Classification[]> {
    const { width, height } = this.manifest.input.preprocessing;
    const size = this.inputSize;
    const batch = new Float32Array(tensors.length * size);
    tensors.forEach((tensor, i) => {
      if (tensor.length !== size) throw new Error(`Image ${i} of the batch has ${tensor.length} values; the model takes ${size}.`);
      batch.set(tensor, i * size);
    });
    const input = new ort.Tensor("float32", batch, [tensors.length, 1, height, width]);
    const explanation = explain.some(Boolean) ? this.explanationManifest() : undefined;
    // Only what the answers need crosses into JavaScript; onnxruntime runs the whole graph either way (README: Where the model looked).
    const fetches = [this.manifest.output.name, ...(this.gate ? [this.gate.manifest.featuresOutput] : []), ...(explanation ? [explanation.output] : [])];
    const outputs = await this.session.run({ [this.manifest.input.name]: input }, fetches);
    const scores = outputs[this.manifest.output.name]!.data as Float32Array;
    const gate = this.gate;
    const features = gate && (outputs[gate.manifest.featuresOutput]!.data as Float32Array);
    const d = gate?.manifest.dimensions ?? 0;
    const cam = explanation && (outputs[explanation.output]!.data as Float32Array);
    const camSize = explanation ? explanation.width * explanation.height : 0;
    return tensors.map((_, i) => {
      const classification: Classification = this.interpret(scores.subarray(i * LABELS.length, (i + 1) * LABELS.length));
      if (gate && features) classification.gate = gate.judge(features.subarray(i * d, (i + 1) * d));
      // A copy, not a view: a view would keep, and post to another thread, the whole batch's maps.
      if (cam && explain[i]) classification.cam = cam.slice(i * camSize, (i + 1) * camSize);
      return classification;
    });
  }

  /** The manifest's explanation; an Error when the model has none (hosts refuse explain=true for such a model first). */
  private explanationManifest() {
    const { explanation, name, version } = this.manifest;
    if (!explanation) throw new Error(`Model ${name} ${version} has no class activation map output to explain with.`);
    return explanation;
  }

  private interpret(scores: Float32Array): Classification {
    const probabilities = Object.fromEntries(LABELS.map((label, i) => [label, scores[i]!])) as Record<Label, number>;
    const prediction: Label = probabilities.PNEUMONIA >= this.manifest.threshold ? "PNEUMONIA" : "NORMAL";
    return { prediction, probability: probabilities[prediction], probabilities };
  }
}
