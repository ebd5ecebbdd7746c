"""Combines trained members (train.py run directories) into the served model: averages their logits, measures the
protocol's choices cross-fitted on dev (protocol.py), makes them on the whole of dev (decision threshold and
temperature, folded into the graph), quantizes to int8 (quantize.py), and writes model.onnx, manifest.json,
MODEL_CARD.md, roc.png and reliability.png.

    .venv/bin/python training/export.py --members training/.cache/runs/seed-1 training/.cache/runs/seed-2
"""
from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import math
from pathlib import Path
from tempfile import TemporaryDirectory

import numpy as np
import onnxruntime
import torch
from PIL import Image, ImageDraw

from dataset import LABELS, Split, load_split, split_by_patient
from cam import add_cam_output, explanation_entry
from gate import FEATURES_OUTPUT, add_features_output, check_same_probabilities, fit_gate, run_model, VALIDATION_LIST, write_validation_list
from metrics import at_threshold, expected_calibration_error, logit, reliability, roc_curve
from model import PneumoniaCNN
from protocol import calibrated, choose_calibration, protocol_entry, repeated_cross_fit
from quantize import quantize_int8

CITATION = ('Kermany D., Zhang K., Goldbaum M. (2018). "Labeled Optical Coherence Tomography (OCT) and Chest X-Ray '
            'Images for Classification". Mendeley Data, v2. doi:10.17632/rscbjbr9sj.2. License: CC BY 4.0.')
MODEL_NAME = "pneumonia-cnn"
MODEL_VERSION = "2.1.0"


class Ensemble(torch.nn.Module):
    """Members' PNEUMONIA logits averaged; one member is an ensemble of one."""

    def __init__(self, members: list[torch.nn.Module]):
        super().__init__()
        self.members = torch.nn.ModuleList(members)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return torch.stack([member(image) for member in self.members]).mean(0)


class ServedModel(torch.nn.Module):
    """The ensemble with the dev-chosen threshold and temperature folded into its output, answering both class
    probabilities.

    Shifting the logit by logit(threshold) moves the decision point to 0.5, so the probability the API
    reports for its prediction is always the larger one; dividing by the temperature then calibrates how sure
    that probability is without moving any decision.
    """

    def __init__(self, model: torch.nn.Module, threshold: float, temperature: float):
        super().__init__()
        self.model = model
        self.offset = logit(threshold)
        self.temperature = temperature

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        pneumonia = torch.sigmoid((self.model(image) - self.offset) / self.temperature)
        return torch.cat([1 - pneumonia, pneumonia], dim=1)


def load_member(run_dir: Path) -> tuple[torch.nn.Module, dict]:
    member = json.loads((run_dir / "member.json").read_text())
    model = PneumoniaCNN(tuple(int(w) for w in member["args"]["widths"].split(",")), float(member["args"]["dropout"]))
    model.load_state_dict(torch.load(run_dir / "model.pt"))
    return model.eval(), member


def export_members(run_dirs: list[Path], tensors: Path, out: Path, min_sensitivity: float, validation_fraction: float,
                   split_seed: int, log) -> None:
    from train import predict_logits

    full_train, dev = load_split(tensors, "train"), load_split(tensors, "dev")
    _, validation = split_by_patient(full_train, validation_fraction, split_seed)
    write_validation_list(full_train, validation_fraction, split_seed, VALIDATION_LIST)
    loaded = [load_member(run_dir) for run_dir in run_dirs]
    model = Ensemble([m for m, _ in loaded]).eval()
    dev_logits, validation_logits = predict_logits(model, dev), predict_logits(model, validation)
    crossfitted = repeated_cross_fit(dev, dev_logits, min_sensitivity)
    first_split = crossfitted["firstSplit"]
    calibration = choose_calibration(dev.labels, dev_logits, min_sensitivity)
    dev_probabilities, validation_probabilities = calibrated(dev_logits, calibration), calibrated(validation_logits, calibration)
    results = {
        "calibration": calibration,
        "crossFitted": crossfitted,
        "dev": at_threshold(dev.labels, dev_probabilities, 0.5),
        "validation": at_threshold(validation.labels, validation_probabilities, 0.5),
        "members": [{"run": str(run_dir), "seed": int(member["args"]["seed"]), "epoch": member["epoch"],
                     "devAuc": round(member["history"][-1]["dev"]["auc"], 5)}
                    for run_dir, (_, member) in zip(run_dirs, loaded)],
        "args": loaded[0][1]["args"],
        "minSensitivity": min_sensitivity,
    }
    log(f"ensemble of {len(loaded)}: cross-fitted, mean of {crossfitted['splits']} splits {json.dumps(crossfitted['mean'])}")
    log(f"dev-tuned {json.dumps(results['dev'])} validation {json.dumps(results['validation'])}")
    curves = {"dev, cross-fitted": (dev.labels, first_split["probabilities"]), "validation": (validation.labels, validation_probabilities)}
    out.mkdir(parents=True, exist_ok=True)
    draw_reliability(out / "reliability.png", f"{MODEL_NAME} {MODEL_VERSION}", dev.labels, first_split["probabilities"],
                     first_split["pooled"]["ece"])
    export_model(model, full_train, {"dev": dev, "validation": validation}, curves, results, out, split_seed, log)


def export_model(model, full_train: Split, splits: dict[str, Split], curves: dict, results: dict, out: Path, seed: int,
                 log) -> None:
    """curves: name -> (labels, PNEUMONIA probabilities deciding at 0.5), for the ROC plot. The manifest's
    metrics are those of the served int8 model; the float32 ones stay beside them."""
    dev = splits["dev"]
    served = ServedModel(model.eval(), results["calibration"]["threshold"], results["calibration"]["temperature"]).eval()
    onnx_path = out / "model.onnx"
    sample = torch.from_numpy(dev.images[:2])
    with TemporaryDirectory() as tmp:
        fp32_path = Path(tmp) / "model-fp32.onnx"
        torch.onnx.export(served, (sample,), fp32_path, input_names=["image"], output_names=["probabilities"],
                          dynamic_axes={"image": {0: "batch"}, "probabilities": {0: "batch"}}, opset_version=17,
                          dynamo=False)
        check_onnx_matches(fp32_path, served, dev, log)
        quantization, served_probabilities = quantize_int8(
            fp32_path, onnx_path, full_train, {**splits, "training (whole official split)": full_train}, seed, log)
    without_features, _ = run_model(onnx_path, dev.images)
    add_features_output(onnx_path)
    check_same_probabilities(without_features, run_model(onnx_path, dev.images)[0])
    gate = fit_gate(onnx_path, full_train, float(results["args"]["validation_fraction"]), seed, dev, log)
    add_cam_output(onnx_path, dev.images, log)
    train_part, _ = split_by_patient(full_train, float(results["args"]["validation_fraction"]), seed)
    explanation = explanation_entry(onnx_path, train_part, log)
    quantization["float32Metrics"] = {name: results[name] for name in splits}
    for name, split in splits.items():
        # The threshold is folded into the output: the served model decides at 0.5.
        results[name] = {**at_threshold(split.labels, served_probabilities[name], 0.5),
                         "ece": expected_calibration_error(split.labels, served_probabilities[name])}
    log(f"served int8 model: dev {json.dumps(results['dev'])} validation {json.dumps(results['validation'])}")
    model_bytes = onnx_path.read_bytes()
    spec = full_train.spec
    manifest = {
        "name": MODEL_NAME,
        "version": MODEL_VERSION,
        "createdAt": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "file": onnx_path.name,
        "sha256": hashlib.sha256(model_bytes).hexdigest(),
        "bytes": len(model_bytes),
        "architecture": {
            "kind": "CNN: conv3x3-BN-ReLU stages with max pooling, global average pooling, dropout, one linear layer",
            "widths": [int(w) for w in results["args"]["widths"].split(",")],
            "members": len(results["members"]),
            "parameters": sum(p.numel() for p in model.parameters()),
        },
        "input": {"name": "image", "shape": ["batch", 1, spec["height"], spec["width"]], "layout": "NCHW",
                  "dtype": "float32", "preprocessing": spec},
        "output": {"name": "probabilities", "shape": ["batch", len(LABELS)], "labels": list(LABELS),
                   "features": FEATURES_OUTPUT},
        "labels": list(LABELS),
        "threshold": 0.5,
        "thresholdSelection": {
            "rawThreshold": results["calibration"]["threshold"],
            "temperature": results["calibration"]["temperature"],
            "rule": f"best dev accuracy with sensitivity >= {results['minSensitivity']}, folded into the output bias; "
                    "then the temperature of least dev negative log-likelihood, dividing the folded logit",
        },
        "metrics": {"crossFitted": results["crossFitted"]["mean"], "validation": results["validation"], "dev": results["dev"]},
        "protocol": protocol_entry(results["crossFitted"], "the float32 ensemble's (its averaged logits)"),
        "gate": gate,
        "explanation": explanation,
        "quantization": quantization,
        "training": {"args": results["args"], "members": results["members"]},
        "data": {
            "citation": CITATION,
            "license": "CC BY 4.0",
            "trainingSource": full_train.source,
            "devSource": dev.source,
            "trainImages": len(full_train.labels) - results["validation"]["images"],
            "validationImages": results["validation"]["images"],
            "devImages": len(dev.labels),
            "validationSplit": "patient-level, from the official training split",
            "devSplit": "half of the official test split, by patient; used for the threshold and the temperature only, "
                        "and measured cross-fitted (training/protocol.py)",
        },
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    draw_roc(out / "roc.png", curves)
    from model_card import write_model_card

    write_model_card(out / "MODEL_CARD.md", manifest)
    log(f"exported {onnx_path} sha256 {manifest['sha256']}")


def check_onnx_matches(onnx_path: Path, served: torch.nn.Module, dev: Split, log) -> None:
    session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    onnx_out = session.run(None, {"image": dev.images})[0]
    with torch.no_grad():
        torch_out = served(torch.from_numpy(dev.images)).numpy()
    difference = float(np.abs(onnx_out - torch_out).max())
    log(f"onnx vs torch on dev: max abs difference {difference:.2e}")
    if difference > 1e-4:
        raise RuntimeError(f"ONNX export disagrees with the PyTorch model by {difference}")


def _square_plot(x_label: str, y_label: str, size: int = 480, margin: int = 50):
    """A white image with a unit square framed and ticked at 0, 0.5 and 1; answers it, its drawer and the mapping
    from (x, y) in the unit square to pixels."""
    image = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(image)
    side = size - 2 * margin

    def point(x: float, y: float) -> tuple[float, float]:
        return margin + x * side, margin + (1 - y) * side

    draw.rectangle([margin, margin, margin + side, margin + side], outline="black")
    draw.line([point(0, 0), point(1, 1)], fill="grey")
    for tick in (0, 0.5, 1):
        draw.text((point(tick, 0)[0] - 8, margin + side + 6), f"{tick:g}", fill="black")
        draw.text((margin - 24, point(0, tick)[1] - 6), f"{tick:g}", fill="black")
    draw.text((size / 2 - 60, size - 22), x_label, fill="black")
    draw.text((8, 20), y_label, fill="black")
    return image, draw, point


def draw_roc(path: Path, curves: dict) -> None:
    image, draw, point = _square_plot("false positive rate (1 - specificity)", "true positive rate (sensitivity)")
    for row, ((name, (labels, scores)), colour) in enumerate(zip(curves.items(), ("blue", "red"))):
        fpr, tpr = roc_curve(labels, scores)
        draw.line([point(f, t) for f, t in zip(fpr, tpr)], fill=colour, width=2)
        m = at_threshold(labels, scores, 0.5)
        draw.text(point(0.45, 0.25 - 0.06 * row), f"{name}: AUC {m['auc']:.3f}", fill=colour)
        draw.ellipse([*(c - 4 for c in point(1 - m["specificity"], m["sensitivity"])),
                      *(c + 4 for c in point(1 - m["specificity"], m["sensitivity"]))], outline=colour, width=2)
    draw.text((50, 4), f"{MODEL_NAME} {MODEL_VERSION}: ROC (circle: chosen threshold)", fill="black")
    image.save(path)


def draw_reliability(path: Path, model: str, labels: np.ndarray, probabilities: np.ndarray, ece: float) -> None:
    """Reliability diagram: per bin of the stated PNEUMONIA probability, the share of images that are PNEUMONIA
    (a circle whose area grows with the bin's images); on the diagonal, the probabilities mean what they say."""
    image, draw, point = _square_plot("stated PNEUMONIA probability", "share that is PNEUMONIA")
    rows = reliability(labels, probabilities)
    draw.line([point(r["meanProbability"], r["pneumoniaShare"]) for r in rows], fill="blue", width=2)
    for r in rows:
        radius = 2 + 10 * math.sqrt(r["images"] / len(labels))
        x, y = point(r["meanProbability"], r["pneumoniaShare"])
        draw.ellipse([x - radius, y - radius, x + radius, y + radius], outline="blue", width=2)
    draw.text((50, 4), f"{model}: reliability on dev, cross-fitted on one split (ECE {ece:.3f})", fill="black")
    image.save(path)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--members", type=Path, nargs="+", required=True, help="train.py run directories")
    p.add_argument("--tensors", type=Path, default=Path("training/.cache/tensors"))
    p.add_argument("--out", type=Path, default=Path("models/pneumonia-cnn"))
    p.add_argument("--min-sensitivity", type=float, default=0.95)
    p.add_argument("--validation-fraction", type=float, default=0.15)
    p.add_argument("--split-seed", type=int, default=20261125)
    args = p.parse_args()
    export_members(args.members, args.tensors, args.out, args.min_sensitivity, args.validation_fraction,
                   args.split_seed, print)


if __name__ == "__main__":
    main()
