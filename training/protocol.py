"""How dev is used: every choice made on one half of it and measured on the other, then the halves swapped
(cross-fitting), so the headline figures are not those of the set the choices were made on.

Fixed before training, so not chosen at all: the epoch (the last one, train.py) and the members (every trained
one). Chosen on the tuning half: the decision threshold (best accuracy with sensitivity >= the floor) and the
temperature of the probabilities (least negative log-likelihood once the threshold is folded in). The served
model makes the same two choices on the whole of dev. The AUC needs no cross-fitting: it ranks the model's own
scores, which neither choice touches. (The recipe itself, input size and augmentation, was picked among the runs of
training/experiments.md by their dev figures: a choice above this protocol, which it cannot undo.)

Which patients land in which fold moves the figures as much as the model does (a half of dev holds about 58 NORMAL
images, and the threshold sits near its fifth-lowest PNEUMONIA score), so the headline is the mean over SPLITS random
patient splits, each cross-fitted; the first split is also shown fold by fold.

    .venv/bin/python training/protocol.py --members training/.cache/runs/seed-1 training/.cache/runs/seed-2
    .venv/bin/python training/protocol.py --model-dir models/pneumonia-cnn --write   # an exported model, re-measured
    .venv/bin/python training/protocol.py --members RUN --adapt-bn --splits 20   # run Q of training/experiments.md
"""
from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import numpy as np

from dataset import LABELS, Split, load_split, patient_of
from metrics import (at_threshold, choose_threshold, expected_calibration_error, fit_temperature, logit, reliability,
                     roc_auc, sigmoid)

FOLD_SEED = 20261130
# Splits averaged for the headline: the mean's own sampling error is a tenth of one split's spread, under one image of dev.
SPLITS = 100
# Keeps a threshold at the edge of the probability range finite once folded into the logit.
_EDGE = 1e-6


def dev_folds(dev: Split, seed: int = FOLD_SEED) -> np.ndarray:
    """0 or 1 per image: each class's patients shuffled and halved, so no patient sits in both folds."""
    rng = np.random.default_rng(seed)
    patients = np.array([patient_of(f) for f in dev.files])
    fold = np.zeros(len(dev.files), dtype=np.int64)
    for label in range(len(LABELS)):
        class_patients = np.unique(patients[dev.labels == label])
        rng.shuffle(class_patients)
        second = set(class_patients[len(class_patients) // 2:])
        fold[[i for i, p in enumerate(patients) if dev.labels[i] == label and p in second]] = 1
    return fold


def choose_calibration(labels: np.ndarray, logits: np.ndarray, min_sensitivity: float) -> dict:
    """The threshold (on the uncalibrated probability) and the temperature chosen on these images."""
    threshold = float(np.clip(choose_threshold(labels, sigmoid(logits), min_sensitivity), _EDGE, 1 - _EDGE))
    return {"threshold": threshold, "temperature": fit_temperature(labels, logits - logit(threshold))}


def calibrated(logits: np.ndarray, calibration: dict) -> np.ndarray:
    """The served PNEUMONIA probability: the threshold moved to 0.5, then the temperature applied."""
    return sigmoid((logits - logit(calibration["threshold"])) / calibration["temperature"])


# Given the tuning fold's mask, the PNEUMONIA logits on all of dev of a model adapted on that fold's images.
AdaptedLogits = Callable[[np.ndarray], np.ndarray]


def cross_fit(dev: Split, logits: np.ndarray, min_sensitivity: float, fold_seed: int = FOLD_SEED,
              adapted: AdaptedLogits | None = None) -> dict:
    """Cross-fitted figures, on the split of `fold_seed`, of the model whose averaged PNEUMONIA logits on dev are
    `logits`, or, with `adapted`, of the model adapted anew on each tuning fold (its logits replace `logits`)."""
    folds = dev_folds(dev, fold_seed)
    probabilities, measured_logits = np.empty(len(logits)), np.empty(len(logits))
    per_fold = []
    for measured in (0, 1):
        tune, measure = folds != measured, folds == measured
        fold_logits = logits if adapted is None else adapted(tune)
        calibration = choose_calibration(dev.labels[tune], fold_logits[tune], min_sensitivity)
        probabilities[measure] = calibrated(fold_logits[measure], calibration)
        measured_logits[measure] = fold_logits[measure]
        figures = at_threshold(dev.labels[measure], probabilities[measure], 0.5)
        # The calibration's threshold (on the unfolded probability) replaces the figures' 0.5 (on the folded one).
        per_fold.append({"measuredOn": measured, **figures, **calibration,
                         "ece": expected_calibration_error(dev.labels[measure], probabilities[measure])})
    # AUC ranks the model's own scores, which no threshold or temperature touches; the pooled probabilities would mix
    # the two folds' calibrations into the ranking. (Without `adapted`, the measured logits are `logits`.)
    pooled = {**at_threshold(dev.labels, probabilities, 0.5), "auc": roc_auc(dev.labels, measured_logits)}
    return {
        "foldSeed": fold_seed,
        "pooled": {**pooled, "ece": expected_calibration_error(dev.labels, probabilities)},
        "folds": per_fold,
        "reliability": reliability(dev.labels, probabilities),
        "probabilities": probabilities,
    }


RATES = ("accuracy", "sensitivity", "specificity", "ece")


def repeated_cross_fit(dev: Split, logits: np.ndarray, min_sensitivity: float, splits: int = SPLITS,
                       adapted: AdaptedLogits | None = None) -> dict:
    """The headline: cross_fit over `splits` patient splits (fold seeds FOLD_SEED, FOLD_SEED + 1, ...), each rate
    averaged, with the range that holds the middle 90 % of the splits; the first split kept whole."""
    runs = [cross_fit(dev, logits, min_sensitivity, FOLD_SEED + k, adapted) for k in range(splits)]
    rates = {name: np.array([run["pooled"][name] for run in runs]) for name in RATES}
    first = runs[0]
    return {
        "splits": splits,
        "mean": {"images": len(logits), "auc": float(np.mean([run["pooled"]["auc"] for run in runs])),
                 **{name: float(v.mean()) for name, v in rates.items()}},
        "middle90": {name: [float(np.percentile(v, 5)), float(np.percentile(v, 95))] for name, v in rates.items()},
        "firstSplit": first,
    }


def batch_norm_adapted(model, dev: Split) -> AdaptedLogits:
    """Run Q: the model with its batch-norm statistics recomputed on the tuning fold's X-rays (labels unused, no
    augmentation), as AdaBN does for a shift between the training and the test source."""
    import copy

    import torch
    from torch.optim.swa_utils import update_bn

    from train import predict_logits

    def logits_adapted_on(tune: np.ndarray) -> np.ndarray:
        model_copy = copy.deepcopy(model)
        images = dev.images[tune]
        with torch.no_grad():
            update_bn((torch.from_numpy(images[i : i + 32]) for i in range(0, len(images), 32)), model_copy)
        return predict_logits(model_copy.eval(), dev)

    return logits_adapted_on


def summary(name: str, figures: dict) -> str:
    return (f"{name}: accuracy {figures['accuracy']:.3f} AUC {figures['auc']:.3f} sensitivity {figures['sensitivity']:.3f} "
            f"specificity {figures['specificity']:.3f}" + (f" ECE {figures['ece']:.3f}" if "ece" in figures else ""))


def served_logits(model_dir: Path, dev: Split) -> np.ndarray:
    """The PNEUMONIA logit of an exported model's served probability: its folded threshold and temperature move and
    scale it, which changes no choice the protocol makes (the same images fall on each side of every threshold)."""
    from gate import run_model
    from model_step import read_manifest

    manifest = read_manifest(model_dir)
    pneumonia = run_model(model_dir / manifest["file"], dev.images)[0][:, manifest["labels"].index("PNEUMONIA")]
    clipped = np.clip(pneumonia.astype(np.float64), _EDGE, 1 - _EDGE)
    return np.log(clipped / (1 - clipped))


def protocol_entry(repeated: dict, scores: str) -> dict:
    """The manifest's "protocol": how the headline (its metrics.crossFitted, `repeated["mean"]`) was measured, on
    which `scores`, and the first split in full but for its per-image probabilities."""
    first = {k: v for k, v in repeated["firstSplit"].items() if k != "probabilities"}
    return {"splits": repeated["splits"], "middle90": repeated["middle90"], "firstSplit": first, "scores": scores}


def record(model_dir: Path, dev: Split, repeated: dict) -> None:
    """Writes the figures into an exported model's manifest, model card and reliability diagram, as `npm run train`
    would have."""
    from export import draw_reliability
    from model_step import read_manifest, write_manifest

    manifest = read_manifest(model_dir)
    manifest["metrics"]["crossFitted"] = repeated["mean"]
    manifest["protocol"] = protocol_entry(repeated, "the served int8 model's (the logit of its PNEUMONIA probability)")
    first = repeated["firstSplit"]
    draw_reliability(model_dir / "reliability.png", f"{manifest['name']} {manifest['version']} (int8)", dev.labels,
                     first["probabilities"], first["pooled"]["ece"])
    write_manifest(model_dir, manifest, None, "")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--members", type=Path, nargs="+", help="train.py run directories (their float32 logits averaged)")
    source.add_argument("--model-dir", type=Path, help="an exported model instead: measures the int8 model it serves")
    p.add_argument("--write", action="store_true", help="with --model-dir: record the figures in its manifest, model card and reliability diagram")
    p.add_argument("--tensors", type=Path, default=Path("training/.cache/tensors"))
    p.add_argument("--min-sensitivity", type=float, default=0.95)
    p.add_argument("--splits", type=int, default=SPLITS, help="patient splits averaged")
    p.add_argument("--adapt-bn", action="store_true",
                   help="with --members: recompute the batch-norm statistics on each tuning fold's X-rays (run Q)")
    args = p.parse_args()
    if args.write and not args.model_dir:
        p.error("--write records into --model-dir")
    if args.adapt_bn and not args.members:
        p.error("--adapt-bn recomputes the float32 members' statistics: it needs --members")
    dev = load_split(args.tensors, "dev")
    if args.members:
        from export import Ensemble, load_member
        from train import predict_logits

        model = Ensemble([load_member(run)[0] for run in args.members]).eval()
        logits = predict_logits(model, dev)
    else:
        logits = served_logits(args.model_dir, dev)
    adapted = batch_norm_adapted(model, dev) if args.adapt_bn else None
    repeated = repeated_cross_fit(dev, logits, args.min_sensitivity, args.splits, adapted)
    print(summary(f"cross-fitted, mean of {repeated['splits']} splits", repeated["mean"]))
    print("  middle 90 % of the splits: " + ", ".join(f"{name} {low:.3f} to {high:.3f}"
                                                      for name, (low, high) in repeated["middle90"].items()))
    result = repeated["firstSplit"]
    print(summary(f"  the first split (fold seed {result['foldSeed']})", result["pooled"]))
    for fold in result["folds"]:
        print(summary(f"    measured on fold {fold['measuredOn']} ({fold['images']} images, threshold {fold['threshold']:.3f}, "
                      f"T {fold['temperature']:.2f})", fold))
    if adapted is not None:
        logits = adapted(np.ones(len(logits), dtype=bool))
    whole = choose_calibration(dev.labels, logits, args.min_sensitivity)
    print(summary(f"dev-tuned (threshold {whole['threshold']:.3f}, T {whole['temperature']:.2f})",
                  {**at_threshold(dev.labels, calibrated(logits, whole), 0.5),
                   "ece": expected_calibration_error(dev.labels, calibrated(logits, whole))}))
    if args.write:
        record(args.model_dir, dev, repeated)


if __name__ == "__main__":
    main()
