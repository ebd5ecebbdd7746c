/** A worker thread that fails as the inference worker does when its model cannot load. */
import { ModelLoadError } from "../../lambda/core/model/model-load-error.js";

throw new ModelLoadError("checksumMismatch", "/models/x/model.onnx has sha256 1234, but the manifest expects 5678");
