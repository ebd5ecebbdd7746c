"""Binary classification metrics for PNEUMONIA (positive) against NORMAL."""
from __future__ import annotations

import numpy as np


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve as the Mann-Whitney statistic, with ties counted half."""
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    start = 0
    while start < len(scores):
        end = start
        while end + 1 < len(scores) and sorted_scores[end + 1] == sorted_scores[start]:
            end += 1
        ranks[order[start : end + 1]] = (start + end) / 2 + 1
        start = end + 1
    positives = labels == 1
    n_pos, n_neg = positives.sum(), (~positives).sum()
    return float((ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def roc_curve(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """False and true positive rates at every distinct threshold, from (0, 0) to (1, 1)."""
    thresholds = np.concatenate([[np.inf], np.unique(scores)[::-1]])
    fpr = np.array([((scores >= t) & (labels == 0)).sum() for t in thresholds]) / max((labels == 0).sum(), 1)
    tpr = np.array([((scores >= t) & (labels == 1)).sum() for t in thresholds]) / max((labels == 1).sum(), 1)
    return fpr, tpr


def at_threshold(labels: np.ndarray, probabilities: np.ndarray, threshold: float) -> dict:
    predicted = probabilities >= threshold
    tp = int((predicted & (labels == 1)).sum())
    tn = int((~predicted & (labels == 0)).sum())
    fp = int((predicted & (labels == 0)).sum())
    fn = int((~predicted & (labels == 1)).sum())
    return {
        "images": int(len(labels)),
        "accuracy": (tp + tn) / len(labels),
        "auc": roc_auc(labels, probabilities),
        "sensitivity": tp / max(tp + fn, 1),
        "specificity": tn / max(tn + fp, 1),
        "threshold": float(threshold),
        "confusion": {"truePneumonia": tp, "trueNormal": tn, "falsePneumonia": fp, "falseNormal": fn},
    }


def choose_threshold(labels: np.ndarray, probabilities: np.ndarray, min_sensitivity: float) -> float:
    """The threshold of best accuracy among those that keep sensitivity at or above the floor.

    Missing pneumonia costs more than a second look at a normal X-ray, hence the floor. Thresholds
    sit midway between neighbouring scores so that a small shift of one score does not flip it.
    """
    unique = np.unique(probabilities)
    candidates = np.concatenate([[0.0], (unique[:-1] + unique[1:]) / 2, [1.0]])
    best, best_accuracy = 0.5, -1.0
    for threshold in candidates:
        m = at_threshold(labels, probabilities, threshold)
        if m["sensitivity"] >= min_sensitivity and m["accuracy"] > best_accuracy:
            best, best_accuracy = float(threshold), m["accuracy"]
    return best


def sigmoid(logits: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-logits))


def logit(probability: float) -> float:
    return float(np.log(probability / (1 - probability)))


RELIABILITY_BINS = 10


def reliability(labels: np.ndarray, probabilities: np.ndarray, bins: int = RELIABILITY_BINS) -> list[dict]:
    """Per equal-width bin of the PNEUMONIA probability: how many images, their mean probability and the share
    that are PNEUMONIA (the reliability diagram's points)."""
    index = np.minimum((probabilities * bins).astype(int), bins - 1)
    rows = []
    for b in range(bins):
        inside = index == b
        if inside.any():
            rows.append({"from": b / bins, "to": (b + 1) / bins, "images": int(inside.sum()),
                         "meanProbability": float(probabilities[inside].mean()),
                         "pneumoniaShare": float(labels[inside].mean())})
    return rows


def expected_calibration_error(labels: np.ndarray, probabilities: np.ndarray, bins: int = RELIABILITY_BINS) -> float:
    """Mean gap between the stated PNEUMONIA probability and the observed share of PNEUMONIA, over equal-width bins
    weighted by their images (Guo et al. 2017 on the positive class)."""
    return float(sum(row["images"] * abs(row["meanProbability"] - row["pneumoniaShare"])
                     for row in reliability(labels, probabilities, bins)) / len(labels))


def fit_temperature(labels: np.ndarray, logits: np.ndarray) -> float:
    """The T > 0 that minimises the negative log-likelihood of sigmoid(logits / T) (temperature scaling,
    Guo et al. 2017): it changes how sure the probabilities are, never which side of 0.5 they fall."""

    def nll(log_t: float) -> float:
        z = logits / np.exp(log_t)
        # log(1 + e^z) - y z, written to stay finite for large |z|.
        return float(np.mean(np.logaddexp(0, z) - labels * z))

    low, high = np.log(0.05), np.log(20.0)
    golden = (np.sqrt(5) - 1) / 2
    for _ in range(100):
        a, b = high - golden * (high - low), low + golden * (high - low)
        if nll(a) < nll(b):
            high = b
        else:
            low = a
    return float(np.exp((low + high) / 2))
