"""Trains one pneumonia CNN on tensors written by export-tensors.ts and keeps its last epoch in --run-dir (dev
figures are logged each epoch to follow the run, never used to choose). With --export it also writes that model alone as the served model (see export.py for ensembles).

    npm run train            # exports the tensors, trains the ensemble members, exports the served model
"""
from __future__ import annotations

import argparse
import copy
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.optim.swa_utils import update_bn

from augment import random_affine, random_blur, random_border, random_erase, random_noise, random_photometric
from dataset import Split, load_split, split_by_patient
from metrics import at_threshold, choose_threshold, sigmoid
from model import PneumoniaCNN


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tensors", type=Path, default=Path("training/.cache/tensors"))
    p.add_argument("--out", type=Path, default=Path("models/pneumonia-cnn"))
    p.add_argument("--run-dir", type=Path, default=Path("training/.cache/runs/latest"))
    p.add_argument("--export", action="store_true", help="write the model, manifest and model card to --out")
    p.add_argument("--epochs", type=int, default=14)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--weight-decay", type=float, default=5e-4)
    p.add_argument("--widths", type=str, default="16,32,64,128,256")
    p.add_argument("--dropout", type=float, default=0.3)
    p.add_argument("--ema", type=float, default=0.995, help="exponential weight averaging decay; 0 turns it off")
    p.add_argument("--swa-epochs", type=int, default=0,
                   help="keep the plain mean of the weights after every step of the last N epochs (SWA), batch-norm "
                        "statistics recomputed; 0 turns it off")
    p.add_argument("--photometric", type=float, default=1.0, help="strength of gamma/contrast/brightness jitter")
    p.add_argument("--erase", type=float, default=0.3, help="probability of blanking a rectangle")
    p.add_argument("--border", type=float, default=0.5, help="probability of covering bands along the edges (up to 20 %% of the side each)")
    p.add_argument("--border-swap", action="store_true", help="fill the edge bands with the same bands of another image of the batch, not a flat level")
    p.add_argument("--label-smoothing", type=float, default=0.05)
    p.add_argument("--zoom", type=float, default=0.2, help="largest random zoom, as a fraction")
    p.add_argument("--shift", type=float, default=0.1, help="largest random shift, as a fraction of the side")
    p.add_argument("--blur", type=float, default=0.5, help="probability of a random Gaussian blur (sigma up to 1.2 px)")
    p.add_argument("--noise", type=float, default=0.5, help="probability of random Gaussian noise (std up to 0.03)")
    p.add_argument("--mixup", type=float, default=0.0, help="mixup Beta(a, a) parameter; 0 turns it off")
    p.add_argument("--min-sensitivity", type=float, default=0.95)
    p.add_argument("--validation-fraction", type=float, default=0.15)
    p.add_argument("--threads", type=int, default=0, help="0: all cores")
    p.add_argument("--seed", type=int, default=20261125, help="seed of initialisation, order and augmentation")
    p.add_argument("--split-seed", type=int, default=20261125, help="seed of the patient-level validation split")
    return p.parse_args()


@torch.no_grad()
def predict_logits(model: torch.nn.Module, split: Split, batch_size: int = 128) -> np.ndarray:
    model.eval()
    outputs = [model(torch.from_numpy(split.images[i : i + batch_size])).squeeze(1)
               for i in range(0, len(split.labels), batch_size)]
    return torch.cat(outputs).numpy().astype(np.float64)


def predict(model: torch.nn.Module, split: Split) -> np.ndarray:
    return sigmoid(predict_logits(model, split))


def augment(x: torch.Tensor, args: argparse.Namespace, spec: dict, g: torch.Generator) -> torch.Tensor:
    x = random_affine(x, g, degrees=10, scale=args.zoom, shift=args.shift)
    mean, std = spec["normalisation"]["mean"], spec["normalisation"]["std"]
    if args.blur > 0:
        x = random_blur(x, g, args.blur, max_sigma=1.2)
    if args.photometric > 0:
        x = random_photometric(x, g, mean, std, args.photometric)
    if args.noise > 0:
        x = random_noise(x, g, args.noise, max_std=0.03, std=std)
    if args.erase > 0:
        x = random_erase(x, g, args.erase, max_fraction=0.3)
    if args.border > 0:
        x = random_border(x, g, args.border, max_fraction=0.2, mean=mean, std=std, swap=args.border_swap)
    return x


def train(args: argparse.Namespace, train_split: Split, dev: Split, log) -> tuple[torch.nn.Module, list[dict]]:
    g = torch.Generator().manual_seed(args.seed)
    model = PneumoniaCNN(tuple(int(w) for w in args.widths.split(",")), args.dropout)
    averaged = copy.deepcopy(model) if args.ema > 0 or args.swa_epochs > 0 else model
    swa_steps = 0
    optimiser = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    steps_per_epoch = len(train_split.labels) // args.batch_size
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, args.lr, total_steps=args.epochs * steps_per_epoch,
                                                   pct_start=0.15)
    # Weight each class by the inverse of its frequency so the 1:3 NORMAL:PNEUMONIA imbalance does not bias the loss.
    counts = np.bincount(train_split.labels, minlength=2)
    class_weight = torch.tensor(len(train_split.labels) / (2 * counts), dtype=torch.float32)
    mixing = np.random.default_rng(args.seed)

    def smoothed_loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        target = y * (1 - args.label_smoothing) + 0.5 * args.label_smoothing
        return F.binary_cross_entropy_with_logits(logits, target, weight=class_weight[y.long()])

    images, labels = torch.from_numpy(train_split.images), torch.from_numpy(train_split.labels).float()
    history = []
    for epoch in range(1, args.epochs + 1):
        started, model_loss = time.time(), 0.0
        in_swa = epoch > args.epochs - args.swa_epochs
        model.train()
        order = torch.randperm(len(labels), generator=g)
        for step in range(steps_per_epoch):
            batch = order[step * args.batch_size : (step + 1) * args.batch_size]
            x, y = augment(images[batch], args, train_split.spec, g), labels[batch]
            mix, partner = 1.0, torch.arange(len(y))
            if args.mixup > 0:
                mix, partner = float(mixing.beta(args.mixup, args.mixup)), torch.randperm(len(y), generator=g)
                x = mix * x + (1 - mix) * x[partner]
            logits = model(x).squeeze(1)
            loss = mix * smoothed_loss(logits, y) + (1 - mix) * smoothed_loss(logits, y[partner])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            model_loss += loss.item()
            if in_swa:
                swa_steps += 1
            if averaged is not model:
                # SWA: the running mean of every step's weights; EMA: the exponential one (--ema 0: a plain copy
                # until SWA starts).
                decay = 1 - 1 / swa_steps if in_swa else args.ema
                with torch.no_grad():
                    for a, m in zip(averaged.state_dict().values(), model.state_dict().values()):
                        a.copy_(a * decay + m * (1 - decay)) if a.dtype.is_floating_point else a.copy_(m)
        if in_swa and epoch == args.epochs:
            # The running statistics averaged with the weights belong to the earlier weights, not to their mean:
            # one pass over the augmented training images recomputes them, as SWA does.
            update_bn((augment(images[start : start + args.batch_size], args, train_split.spec, g)
                       for start in range(0, len(images), args.batch_size)), averaged)
        dev_probabilities = predict(averaged, dev)
        threshold = choose_threshold(dev.labels, dev_probabilities, args.min_sensitivity)
        dev_metrics = at_threshold(dev.labels, dev_probabilities, threshold)
        history.append({"epoch": epoch, "loss": model_loss / steps_per_epoch, "seconds": time.time() - started,
                        "dev": dev_metrics})
        log(f"epoch {epoch:2d} loss {model_loss / steps_per_epoch:.4f} dev auc {dev_metrics['auc']:.4f} "
            f"acc {dev_metrics['accuracy']:.4f} sens {dev_metrics['sensitivity']:.3f} "
            f"spec {dev_metrics['specificity']:.3f} t {threshold:.3f} ({time.time() - started:.0f} s)")
    return averaged, history


def main() -> None:
    args = parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads or torch.get_num_threads())
    args.run_dir.mkdir(parents=True, exist_ok=True)
    log_file = (args.run_dir / "train.log").open("w")

    def log(line: str) -> None:
        print(line, flush=True)
        log_file.write(line + "\n")
        log_file.flush()

    full_train, dev = load_split(args.tensors, "train"), load_split(args.tensors, "dev")
    train_split, validation = split_by_patient(full_train, args.validation_fraction, args.split_seed)
    log(f"train {len(train_split.labels)} validation {len(validation.labels)} dev {len(dev.labels)} "
        f"spec {json.dumps(full_train.spec)} args {vars(args)}")
    model, history = train(args, train_split, dev, log)
    # The last epoch's averaged weights are kept: choosing the epoch on dev would flatter the dev figures.
    torch.save(model.state_dict(), args.run_dir / "model.pt")
    member = {"args": {k: str(v) for k, v in vars(args).items()}, "epoch": args.epochs, "history": history}
    (args.run_dir / "member.json").write_text(json.dumps(member, indent=2))
    log(f"kept epoch {args.epochs}: dev {json.dumps(history[-1]['dev'])}")
    if args.export:
        from export import export_members

        export_members([args.run_dir], args.tensors, args.out, args.min_sensitivity, args.validation_fraction,
                       args.split_seed, log)


if __name__ == "__main__":
    main()
