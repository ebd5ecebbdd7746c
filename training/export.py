"""Combines trained members (train.py run directories) into the served model: averages their logits, chooses the
decision threshold on the dev set, quantizes to int8 (quantize.py), and writes model.onnx, manifest.json,
MODEL_CARD.md and roc.png.

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
from metrics import at_threshold, choose_threshold, roc_curve
from model import PneumoniaCNN
from quantize import quantize_int8

CITATION = ('Kermany D., Zhang K., Goldbaum M. (2018). "Labeled Optical Coherence Tomography (OCT) and Chest X-Ray '
            'Images for Classification". Mendeley Data, v2. doi:10.17632/rscbjbr9sj.2. License: CC BY 4.0.')
MODEL_NAME = "pneumonia-cnn"
MODEL_VERSION = "1.3.0"


class Ensemble(torch.nn.Module):
    """Members' PNEUMONIA logits averaged; one member is an ensemble of one."""

    def __init__(self, members: list[torch.nn.Module]):
        super().__init__()
        self.members = torch.nn.ModuleList(members)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return torch.stack([member(image) for member in self.members]).mean(0)


class ServedModel(torch.nn.Module):
    """The ensemble with the dev-chosen threshold folded into its output, answering both class probabilities.

    Shifting the logit by logit(threshold) moves the decision point to 0.5, so the probability the API
    reports for its prediction is always the larger one.
    """

    def __init__(self, model: torch.nn.Module, threshold: float):
        super().__init__()
        self.model = model
        self.offset = math.log(threshold / (1 - threshold))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        pneumonia = torch.sigmoid(self.model(image) - self.offset)
        return torch.cat([1 - pneumonia, pneumonia], dim=1)


def load_member(run_dir: Path) -> tuple[torch.nn.Module, dict]:
    member = json.loads((run_dir / "member.json").read_text())
    model = PneumoniaCNN(tuple(int(w) for w in member["args"]["widths"].split(",")), float(member["args"]["dropout"]))
    model.load_state_dict(torch.load(run_dir / "model.pt"))
    return model.eval(), member


def export_members(run_dirs: list[Path], tensors: Path, out: Path, min_sensitivity: float, validation_fraction: float,
                   split_seed: int, log) -> None:
    from train import predict

    full_train, dev = load_split(tensors, "train"), load_split(tensors, "dev")
    _, validation = split_by_patient(full_train, validation_fraction, split_seed)
    write_validation_list(full_train, validation_fraction, split_seed, VALIDATION_LIST)
    loaded = [load_member(run_dir) for run_dir in run_dirs]
    model = Ensemble([m for m, _ in loaded]).eval()
    dev_probabilities, validation_probabilities = predict(model, dev), predict(model, validation)
    threshold = choose_threshold(dev.labels, dev_probabilities, min_sensitivity)
    results = {
        "threshold": threshold,
        "dev": at_threshold(dev.labels, dev_probabilities, threshold),
        "validation": at_threshold(validation.labels, validation_probabilities, threshold),
        "members": [{"run": str(run_dir), "seed": int(member["args"]["seed"]), "bestEpoch": member["bestEpoch"],
                     "devAuc": round(max(h["dev"]["auc"] for h in member["history"]), 5)}
                    for run_dir, (_, member) in zip(run_dirs, loaded)],
        "args": loaded[0][1]["args"],
        "minSensitivity": min_sensitivity,
    }
    log(f"ensemble of {len(loaded)}: dev {json.dumps(results['dev'])} validation {json.dumps(results['validation'])}")
    curves = {"dev": (dev.labels, dev_probabilities), "validation": (validation.labels, validation_probabilities)}
    export_model(model, full_train, {"dev": dev, "validation": validation}, curves, results, out, split_seed, log)


def export_model(model, full_train: Split, splits: dict[str, Split], curves: dict, results: dict, out: Path, seed: int,
                 log) -> None:
    """curves: split name -> (labels, probabilities) of the unfolded model, for the ROC plot. The manifest's
    metrics are those of the served int8 model; the float32 ones stay beside them."""
    out.mkdir(parents=True, exist_ok=True)
    dev = splits["dev"]
    threshold = results["threshold"]
    served = ServedModel(model.eval(), threshold).eval()
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
        results[name] = at_threshold(split.labels, served_probabilities[name], 0.5)
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
            "rawThreshold": threshold,
            "rule": f"best dev accuracy with sensitivity >= {results['minSensitivity']}, folded into the output bias",
        },
        "metrics": {"validation": results["validation"], "dev": results["dev"]},
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
            "devSplit": "half of the official test split, by patient; used for epoch and threshold selection only",
        },
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    draw_roc(out / "roc.png", curves, results)
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


def draw_roc(path: Path, curves: dict, results: dict, size: int = 480, margin: int = 50) -> None:
    image = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(image)
    side = size - 2 * margin

    def point(fpr: float, tpr: float) -> tuple[float, float]:
        return margin + fpr * side, margin + (1 - tpr) * side

    draw.rectangle([margin, margin, margin + side, margin + side], outline="black")
    draw.line([point(0, 0), point(1, 1)], fill="grey")
    for tick in (0, 0.5, 1):
        draw.text((point(tick, 0)[0] - 8, margin + side + 6), f"{tick:g}", fill="black")
        draw.text((margin - 24, point(0, tick)[1] - 6), f"{tick:g}", fill="black")
    draw.text((size / 2 - 60, size - 22), "false positive rate (1 - specificity)", fill="black")
    draw.text((8, 20), "true positive rate (sensitivity)", fill="black")
    for row, ((name, (labels, scores)), colour) in enumerate(zip(curves.items(), ("blue", "red"))):
        fpr, tpr = roc_curve(labels, scores)
        draw.line([point(f, t) for f, t in zip(fpr, tpr)], fill=colour, width=2)
        m = results[name]
        draw.text((margin + side * 0.45, margin + side * (0.75 + 0.06 * row)), f"{name}: AUC {m['auc']:.3f}", fill=colour)
        draw.ellipse([*(c - 4 for c in point(1 - m["specificity"], m["sensitivity"])),
                      *(c + 4 for c in point(1 - m["specificity"], m["sensitivity"]))], outline=colour, width=2)
    draw.text((margin, 4), f"{MODEL_NAME} {MODEL_VERSION}: ROC (circle: chosen threshold)", fill="black")
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
