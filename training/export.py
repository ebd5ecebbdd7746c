"""Writes the selected model as ONNX with its manifest, model card and ROC curve."""
from __future__ import annotations

import datetime
import hashlib
import json
import math
from pathlib import Path

import numpy as np
import onnxruntime
import torch
from PIL import Image, ImageDraw

from dataset import LABELS, Split
from metrics import roc_curve

CITATION = ('Kermany D., Zhang K., Goldbaum M. (2018). "Labeled Optical Coherence Tomography (OCT) and Chest X-Ray '
            'Images for Classification". Mendeley Data, v2. doi:10.17632/rscbjbr9sj.2. License: CC BY 4.0.')
MODEL_NAME = "pneumonia-cnn"
MODEL_VERSION = "1.0.0"


class ServedModel(torch.nn.Module):
    """The trained CNN with the dev-chosen threshold folded into its bias, answering both class probabilities.

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


def export_model(model, full_train: Split, dev: Split, curves: dict, results: dict, args, log) -> None:
    """curves: split name -> (labels, probabilities) of the unfolded model, for the ROC plot."""
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    threshold = results["threshold"]
    served = ServedModel(model.eval(), threshold).eval()
    onnx_path = out / "model.onnx"
    sample = torch.from_numpy(dev.images[:2])
    torch.onnx.export(served, (sample,), onnx_path, input_names=["image"], output_names=["probabilities"],
                      dynamic_axes={"image": {0: "batch"}, "probabilities": {0: "batch"}}, opset_version=17,
                      dynamo=False)
    check_onnx_matches(onnx_path, served, dev, log)
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
            "widths": [int(w) for w in args.widths.split(",")],
            "parameters": sum(p.numel() for p in model.parameters()),
        },
        "input": {"name": "image", "shape": ["batch", 1, spec["height"], spec["width"]], "layout": "NCHW",
                  "dtype": "float32", "preprocessing": spec},
        "output": {"name": "probabilities", "shape": ["batch", len(LABELS)], "labels": list(LABELS)},
        "labels": list(LABELS),
        "threshold": 0.5,
        "thresholdSelection": {
            "rawThreshold": threshold,
            "rule": f"best dev accuracy with sensitivity >= {args.min_sensitivity}, folded into the output bias",
        },
        "metrics": {"validation": results["validation"], "dev": results["dev"], "bestEpoch": results["bestEpoch"]},
        "training": {"args": results["args"], "epochs": [
            {"epoch": h["epoch"], "loss": round(h["loss"], 5), "devAuc": round(h["dev"]["auc"], 5)}
            for h in results["history"]]},
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
