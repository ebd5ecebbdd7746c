"""Reads the tensors written by export-tensors.ts and splits them by patient."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

LABELS = ("NORMAL", "PNEUMONIA")

# personNNN_bacteria_MMM / personNNN_virus_MMM (PNEUMONIA); IM-NNNN-MMMM / NORMAL2-IM-NNNN-MMMM (NORMAL).
_PATIENT_PATTERNS = (
    (re.compile(r"^person(\d+)_"), "person"),
    (re.compile(r"^NORMAL2-IM-(\d+)-"), "normal2"),
    (re.compile(r"^IM-(\d+)-"), "im"),
)


def patient_of(file: str) -> str:
    """The patient a Kaggle file name belongs to, so no patient sits on both sides of a split."""
    name = Path(file).name
    for pattern, series in _PATIENT_PATTERNS:
        match = pattern.match(name)
        if match:
            return f"{series}-{int(match.group(1))}"
    raise ValueError(f"cannot read a patient from file name {name!r}")


@dataclass
class Split:
    images: np.ndarray  # float32, N x 1 x H x W
    labels: np.ndarray  # int64, 1 = PNEUMONIA
    files: list[str]
    spec: dict
    source: str

    def subset(self, indices: np.ndarray) -> "Split":
        return Split(self.images[indices], self.labels[indices], [self.files[i] for i in indices], self.spec, self.source)


def load_split(tensors_dir: Path, split: str) -> Split:
    index = json.loads((tensors_dir / f"{split}.json").read_text())
    images = np.fromfile(tensors_dir / f"{split}.f32", dtype="<f4").reshape(index["shape"])
    labels = np.array([LABELS.index(item["label"]) for item in index["items"]], dtype=np.int64)
    return Split(images, labels, [item["file"] for item in index["items"]], index["spec"], index["source"])


def split_by_patient(split: Split, validation_fraction: float, seed: int) -> tuple[Split, Split]:
    """Holds out a fraction of each class's patients, so validation never sees a training patient."""
    rng = np.random.default_rng(seed)
    patients = np.array([patient_of(f) for f in split.files])
    held_out: set[str] = set()
    for label in range(len(LABELS)):
        class_patients = np.unique(patients[split.labels == label])
        rng.shuffle(class_patients)
        held_out.update(class_patients[: round(len(class_patients) * validation_fraction)])
    is_validation = np.array([p in held_out for p in patients])
    return split.subset(np.flatnonzero(~is_validation)), split.subset(np.flatnonzero(is_validation))
