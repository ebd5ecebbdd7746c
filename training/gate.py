"""The out-of-distribution gate: the served model's pooled features as an extra ONNX output, and the statistics
the service needs to judge whether an image is a chest X-ray like those of the training split.

Score: the Mahalanobis distance of an image's pooled features (every member's global average pool,
concatenated) to the nearest class mean, with one covariance shared by the classes (Lee et al. 2018, NeurIPS).
Means and covariance come from the training part of the official training split only; the threshold is a
percentile of the validation hold-out's scores (never dev, which is for reporting). No negative examples needed.

The statistics ship beside the model as `gate.f32` (float32 little-endian): the whitening matrix W (D x D,
row-major, W^T W = inverse covariance), then W times each class mean (C x D). The score of features f is
sqrt(min_c |W f - W mu_c|^2). The manifest's `gate` names the file with its sha256 and holds the threshold.

Called by export.py for every trained model, and on its own for a model already exported (`npm run fit-gate`):
    .venv/bin/python training/gate.py --tensors training/.cache/tensors --model-dir models/pneumonia-cnn
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime

from dataset import LABELS, Split, load_split, split_by_patient
from model_step import parse_args, read_manifest, write_manifest

FEATURES_OUTPUT = "features"
GATE_FILE = "gate.f32"
# Share of validation chest X-rays the gate lets through. The validation hold-out is drawn from the training
# split, while the X-rays the service must accept (the test split, other clinics) differ from it in exposure,
# contrast and framing, so their scores run higher: refusing 0.1 % of validation keeps the 1 % allowed for those
# a tenfold margin. (99.5 refused 5 of 313 dev X-rays with model 2.1.0; the photos, documents and other
# modalities all score above 99.9's threshold too: README, The out-of-distribution gate.)
THRESHOLD_PERCENTILE = 99.9
# Ridge on the shared covariance, as a share of its mean variance: channels a ReLU leaves (almost) always at
# zero would otherwise make it singular.
RIDGE = 1e-3


def member_heads(graph: onnx.GraphProto) -> list[onnx.NodeProto]:
    """Each member's final linear layer, sorted by name, so member 0 comes first whatever order the exporter wrote
    the nodes in."""
    return sorted((node for node in graph.node if node.op_type in ("Gemm", "MatMul")), key=lambda node: node.name)


def add_features_output(model_path: Path) -> int:
    """Exposes the pooled features feeding each member's final linear layer, concatenated, as FEATURES_OUTPUT.

    Adds one Concat node and one output; the probabilities are left as they were (check_same_probabilities).
    Returns the features' length. Idempotent: a model that already has the output is left alone.
    """
    model = onnx.load(str(model_path))
    graph = model.graph
    existing = [o for o in graph.output if o.name == FEATURES_OUTPUT]
    if existing:
        return existing[0].type.tensor_type.shape.dim[1].dim_value
    linear = member_heads(graph)
    if not linear:
        raise RuntimeError(f"{model_path} has no Gemm or MatMul node whose input could be the pooled features")
    widths = [_width_of(graph, node) for node in linear]
    graph.node.append(onnx.helper.make_node("Concat", [node.input[0] for node in linear], [FEATURES_OUTPUT],
                                            axis=1, name="gate_features_concat"))
    graph.output.append(onnx.helper.make_tensor_value_info(FEATURES_OUTPUT, onnx.TensorProto.FLOAT, ["batch", sum(widths)]))
    onnx.checker.check_model(model)
    onnx.save(model, str(model_path))
    return sum(widths)


def _width_of(graph: onnx.GraphProto, node: onnx.NodeProto) -> int:
    """Input width of a linear node, read from its weight (Gemm with transB as torch exports it, or MatMul)."""
    weights = {init.name: init for init in graph.initializer}
    weight = weights.get(node.input[1])
    if weight is None:
        raise RuntimeError(f"linear node {node.name} has no constant weight")
    transposed = any(a.name == "transB" and a.i == 1 for a in node.attribute)
    return int(weight.dims[1] if transposed else weight.dims[0])


def run_model(model_path: Path, images: np.ndarray, batch: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities and, when the model has them, features of every image (features empty otherwise)."""
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    session = onnxruntime.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    probabilities, features = [], []
    for start in range(0, len(images), batch):
        outputs = dict(zip(names, session.run(None, {"image": images[start:start + batch]})))
        probabilities.append(outputs["probabilities"])
        if FEATURES_OUTPUT in outputs:
            features.append(outputs[FEATURES_OUTPUT])
    return np.concatenate(probabilities), (np.concatenate(features) if features else np.empty((len(images), 0)))


def fit_statistics(features: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Whitening matrix W (W^T W = inverse of the shared covariance, ridged) and the class means."""
    means = np.stack([features[labels == c].mean(0) for c in range(len(LABELS))]).astype(np.float64)
    centred = features.astype(np.float64) - means[labels]
    covariance = centred.T @ centred / (len(features) - len(LABELS))
    covariance += RIDGE * np.trace(covariance) / len(covariance) * np.eye(len(covariance))
    # precision = L L^T (Cholesky), so |L^T x|^2 = x^T precision x.
    whitening = np.linalg.cholesky(np.linalg.inv(covariance)).T
    return whitening, means


def scores(features: np.ndarray, whitening: np.ndarray, means: np.ndarray) -> np.ndarray:
    """Mahalanobis distance of each row to the nearest class mean: what lambda/core/model/ood-gate.ts computes."""
    projected = features.astype(np.float64) @ whitening.T
    centres = means @ whitening.T
    squared = ((projected[:, None, :] - centres[None, :, :]) ** 2).sum(-1)
    return np.sqrt(squared.min(1))


def fit_gate(model_path: Path, full_train: Split, validation_fraction: float, split_seed: int, dev: Split | None,
             log) -> dict:
    """Fits the gate for an exported model that has the features output; writes gate.f32 beside it and returns
    the manifest's `gate` entry. dev, when given, is scored for the record only."""
    train_part, validation = split_by_patient(full_train, validation_fraction, split_seed)
    _, train_features = run_model(model_path, train_part.images)
    whitening, means = fit_statistics(train_features, train_part.labels)
    _, validation_features = run_model(model_path, validation.images)
    validation_scores = scores(validation_features, whitening, means)
    threshold = float(np.percentile(validation_scores, THRESHOLD_PERCENTILE))
    gate_path = model_path.parent / GATE_FILE
    payload = np.concatenate([whitening.ravel(), (means @ whitening.T).ravel()]).astype("<f4").tobytes()
    gate_path.write_bytes(payload)
    refused = {"validation": _refused(validation_scores, threshold), "training": _refused(scores(train_features, whitening, means), threshold)}
    if dev is not None:
        _, dev_features = run_model(model_path, dev.images)
        refused["dev"] = _refused(scores(dev_features, whitening, means), threshold)
    log(f"gate: threshold {threshold:.3f} ({THRESHOLD_PERCENTILE}th percentile of validation); refused {json.dumps(refused)}")
    return {
        "file": GATE_FILE,
        "sha256": hashlib.sha256(payload).hexdigest(),
        "featuresOutput": FEATURES_OUTPUT,
        "dimensions": int(train_features.shape[1]),
        "classes": len(LABELS),
        "score": "Mahalanobis distance of the pooled features to the nearest class mean, shared covariance",
        "threshold": threshold,
        "thresholdRule": f"{THRESHOLD_PERCENTILE}th percentile of the validation hold-out's scores",
        "ridge": RIDGE,
        "fittedOn": {"trainingImages": len(train_part.labels), "validationImages": len(validation.labels)},
        "refusedOffline": refused,
    }


# Committed beside the training code: the images the gate's threshold was chosen on, for tools/evaluate-gate.ts to
# post over HTTP on any clone (paths as seen from the repository root, where npm runs the scripts).
VALIDATION_LIST = Path(__file__).parent / "validation-files.txt"


def write_validation_list(full_train: Split, validation_fraction: float, split_seed: int, path: Path) -> None:
    """The validation hold-out's image paths, one a line, so tools/evaluate-gate.ts can post them over HTTP."""
    _, validation = split_by_patient(full_train, validation_fraction, split_seed)
    path.write_text("".join(f"{Path(validation.source) / file}\n" for file in validation.files))


def _refused(values: np.ndarray, threshold: float) -> dict:
    return {"images": int(len(values)), "refused": int((values > threshold).sum()),
            "median": round(float(np.median(values)), 3), "max": round(float(values.max()), 3)}


def check_same_probabilities(before: np.ndarray, after: np.ndarray, change: str = "the features output") -> None:
    """Adding an output must not change a single probability (or another output's value)."""
    if not np.array_equal(before, after):
        raise RuntimeError(f"{change} changed the values by up to {np.abs(before - after).max()}")


def main() -> None:
    args = parse_args(__doc__)
    manifest = read_manifest(args.model_dir)
    model_path = args.model_dir / manifest["file"]
    full_train, dev = load_split(args.tensors, "train"), load_split(args.tensors, "dev")
    before, _ = run_model(model_path, dev.images)
    add_features_output(model_path)
    after, _ = run_model(model_path, dev.images)
    check_same_probabilities(before, after)
    print(f"features output added; dev probabilities of {len(dev.labels)} images unchanged")
    training = manifest["training"]["args"]
    fraction, split_seed = float(training["validation_fraction"]), int(training["split_seed"])
    manifest["gate"] = fit_gate(model_path, full_train, fraction, split_seed, dev, print)
    write_validation_list(full_train, fraction, split_seed, VALIDATION_LIST)
    manifest["output"]["features"] = FEATURES_OUTPUT
    write_manifest(args.model_dir, manifest, args.version, "with the same weights, plus the pooled-features output and the "
                   "out-of-distribution gate (`npm run fit-gate`): every probability is unchanged.")
    print(f"wrote {args.model_dir / GATE_FILE}")


if __name__ == "__main__":
    main()
