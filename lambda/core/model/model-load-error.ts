import { ModelUnavailableError } from "../errors.js";

/** Why a model could not be loaded, in words a client may read: no paths, nothing of the host's layout. */
export const MODEL_LOAD_FAILURES = {
  manifestMissing: "its manifest.json is missing or unreadable",
  manifestInvalid: "its manifest.json is not a valid model manifest",
  modelFileMissing: "the model file its manifest names is missing or unreadable",
  checksumMismatch: "the model file's sha256 is not the one its manifest records",
  sessionFailed: "ONNX Runtime could not create a session from the model file",
} as const;

export type ModelLoadFailure = keyof typeof MODEL_LOAD_FAILURES;

/** A model that could not be loaded: which failure it was, and the detail (paths included) for the logs. */
export class ModelLoadError extends Error {
  override readonly name = "ModelLoadError";

  constructor(
    readonly failure: ModelLoadFailure,
    detail: string,
    options?: ErrorOptions,
  ) {
    super(detail, options);
  }

  /** The failure in words a client may read. */
  get reason(): string {
    return MODEL_LOAD_FAILURES[this.failure];
  }

  /**
   * The ModelLoadError a worker thread threw: the 'error' event brings its name, message and own fields
   * (failure) across, but not its class.
   */
  static revive(error: unknown): ModelLoadError | undefined {
    if (error instanceof ModelLoadError) return error;
    const { name, failure, message } = (error ?? {}) as { name?: unknown; failure?: unknown; message?: unknown };
    if (name !== "ModelLoadError" || typeof failure !== "string" || !Object.hasOwn(MODEL_LOAD_FAILURES, failure)) return undefined;
    return new ModelLoadError(failure as ModelLoadFailure, String(message), { cause: error });
  }
}

/** The 503 that answers requests while the model cannot be loaded; it says why when the load said so. */
export function modelUnavailableError(cause: unknown): ModelUnavailableError {
  const why = cause instanceof ModelLoadError ? ` (${cause.reason})` : "";
  return new ModelUnavailableError(`The model could not be loaded${why}; the service cannot classify right now. Retry later.`, { cause });
}
