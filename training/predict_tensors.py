"""Runs an exported ONNX model on tensors written by export-tensors.ts and prints the probabilities as JSON.

Used by the parity test (the served API and this reader must agree) and for offline evaluation:
    .venv/bin/python training/predict_tensors.py --tensors DIR --split dev --model-dir models/pneumonia-cnn
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import onnxruntime

from dataset import load_split


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tensors", type=Path, required=True)
    p.add_argument("--split", required=True)
    p.add_argument("--model-dir", type=Path, default=Path("models/pneumonia-cnn"))
    args = p.parse_args()
    manifest = json.loads((args.model_dir / "manifest.json").read_text())
    split = load_split(args.tensors, args.split)
    session = onnxruntime.InferenceSession(str(args.model_dir / manifest["file"]), providers=["CPUExecutionProvider"])
    probabilities = session.run(None, {manifest["input"]["name"]: split.images})[0]
    print(json.dumps([{"file": f, "probabilities": dict(zip(manifest["labels"], map(float, p)))}
                      for f, p in zip(split.files, probabilities)]))


if __name__ == "__main__":
    main()
