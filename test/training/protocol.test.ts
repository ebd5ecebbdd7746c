import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { venvPython } from "../support/python-tools.js";

const run = promisify(execFile);

/** Runs Python with training/ importable and answers what the snippet prints as JSON. */
async function python<T>(snippet: string): Promise<T> {
  const program = `import json, sys\nsys.path.insert(0, "training")\nimport numpy as np\n${snippet}`;
  const { stdout } = await run(venvPython(), ["-c", program]);
  return JSON.parse(stdout) as T;
}

// Synthetic dev set in the Kaggle file naming: patients with several images each, logits that separate the
// classes imperfectly, as the model's do.
const SYNTHETIC_DEV = `
from dataset import Split
rng = np.random.default_rng(7)
files, labels = [], []
for patient in range(60):
    label = patient % 3 != 0
    for image in range(1 + patient % 4):
        files.append(f"PNEUMONIA/person{patient}_virus_{image}.jpeg" if label else f"NORMAL/IM-{patient:04d}-{image:04d}.jpeg")
        labels.append(int(label))
labels = np.array(labels)
dev = Split(np.zeros((len(labels), 1, 2, 2), np.float32), labels, files, {}, "synthetic")
logits = np.where(labels == 1, 2.0, -2.0) * 3 + rng.normal(0, 3, len(labels))
`;

describe("the cross-fitted protocol (training/protocol.py)", () => {
  it("splits dev by patient into two folds that each hold both classes", async () => {
    // Act
    const result = await python<{ shared: number; classesPerFold: number[][] }>(`${SYNTHETIC_DEV}
from dataset import patient_of
from protocol import dev_folds
fold = dev_folds(dev)
patients = [patient_of(f) for f in files]
shared = len({p for p, k in zip(patients, fold) if k == 0} & {p for p, k in zip(patients, fold) if k == 1})
print(json.dumps({"shared": shared, "classesPerFold": [sorted(set(labels[fold == k].tolist())) for k in (0, 1)]}))`);
    // Assess
    expect(result.shared).toBe(0);
    expect(result.classesPerFold).toEqual([[0, 1], [0, 1]]);
  });

  it("judges each image with a threshold and temperature chosen on the other fold", async () => {
    // Act
    const result = await python<{ same: boolean; sameAsTunedOnAll: boolean; pooledImages: number }>(`${SYNTHETIC_DEV}
from protocol import calibrated, choose_calibration, cross_fit, dev_folds
fold = dev_folds(dev)
result = cross_fit(dev, logits, 0.95)
expected = np.empty(len(labels))
for k in (0, 1):
    expected[fold == k] = calibrated(logits[fold == k], choose_calibration(labels[fold != k], logits[fold != k], 0.95))
tuned_on_all = calibrated(logits, choose_calibration(labels, logits, 0.95))
print(json.dumps({"same": bool(np.allclose(expected, result["probabilities"])),
                  "sameAsTunedOnAll": bool(np.allclose(tuned_on_all, result["probabilities"])),
                  "pooledImages": result["pooled"]["images"]}))`);
    // Assess
    expect(result.same).toBe(true);
    expect(result.pooledImages).toBeGreaterThan(100);
    expect(result.sameAsTunedOnAll).toBe(false);
  });

  it("heads with the mean over several patient splits, each cross-fitted on its own folds", async () => {
    // Act
    const result = await python<{ meanMatches: boolean; distinctSplits: number; firstIsDefault: boolean; inside: boolean }>(`${SYNTHETIC_DEV}
from protocol import FOLD_SEED, cross_fit, dev_folds, repeated_cross_fit
repeated = repeated_cross_fit(dev, logits, 0.95, splits=5)
singles = [cross_fit(dev, logits, 0.95, FOLD_SEED + k)["pooled"] for k in range(5)]
low, high = repeated["middle90"]["accuracy"]
print(json.dumps({"meanMatches": all(np.isclose(repeated["mean"][name], np.mean([s[name] for s in singles]))
                                     for name in ("accuracy", "sensitivity", "specificity", "ece")),
                  "distinctSplits": len({dev_folds(dev, FOLD_SEED + k).tobytes() for k in range(5)}),
                  "firstIsDefault": bool(np.allclose(repeated["firstSplit"]["probabilities"], cross_fit(dev, logits, 0.95)["probabilities"])),
                  "inside": bool(low <= repeated["mean"]["accuracy"] <= high)}))`);
    // Assess
    expect(result.meanMatches).toBe(true);
    expect(result.distinctSplits).toBe(5);
    expect(result.firstIsDefault).toBe(true);
    expect(result.inside).toBe(true);
  });

  it("measures each fold with the model adapted on the other fold when asked to (run Q)", async () => {
    // Act
    const result = await python<{ same: boolean; aucOfMeasured: boolean; tuningMasks: number[]; tuningFolds: number[] }>(`${SYNTHETIC_DEV}
from metrics import roc_auc
from protocol import calibrated, choose_calibration, cross_fit, dev_folds
fold = dev_folds(dev)
masks = []
def adapted(tune):
    # A stand-in for recomputed statistics: each tuning fold shifts and rescales the logits its own way.
    masks.append(int(tune.sum()))
    return logits * (1.5 if tune[0] else 0.5) + (2.0 if tune[0] else -1.0)
result = cross_fit(dev, logits, 0.95, adapted=adapted)
expected, measured = np.empty(len(labels)), np.empty(len(labels))
for k in (0, 1):
    fold_logits = adapted(fold != k)
    expected[fold == k] = calibrated(fold_logits[fold == k], choose_calibration(labels[fold != k], fold_logits[fold != k], 0.95))
    measured[fold == k] = fold_logits[fold == k]
print(json.dumps({"same": bool(np.allclose(expected, result["probabilities"])),
                  "aucOfMeasured": bool(np.isclose(result["pooled"]["auc"], roc_auc(labels, measured))),
                  "tuningMasks": masks[:2], "tuningFolds": [int((fold != k).sum()) for k in (0, 1)]}))`);
    // Assess
    expect(result.same).toBe(true);
    expect(result.aucOfMeasured).toBe(true);
    expect(result.tuningMasks).toEqual(result.tuningFolds);
  });

  it("fits the temperature that generated the labels and scores calibration with the ECE", async () => {
    // Act
    const result = await python<{ temperature: number; calibratedEce: number; overconfidentEce: number }>(`
from metrics import expected_calibration_error, fit_temperature, sigmoid
rng = np.random.default_rng(11)
z = rng.normal(0, 4, 20000)
labels = (rng.random(20000) < sigmoid(z / 2.5)).astype(int)
print(json.dumps({"temperature": fit_temperature(labels, z),
                  "calibratedEce": expected_calibration_error(labels, sigmoid(z / 2.5)),
                  "overconfidentEce": expected_calibration_error(labels, sigmoid(z))}))`);
    // Assess
    expect(result.temperature).toBeGreaterThan(2.3);
    expect(result.temperature).toBeLessThan(2.7);
    expect(result.calibratedEce).toBeLessThan(0.02);
    expect(result.overconfidentEce).toBeGreaterThan(0.05);
  });
});
