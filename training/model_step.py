"""What the commands that change the served model without retraining share (`npm run fit-gate`: gate.py,
`npm run add-cam`: cam.py): their arguments, and rewriting the manifest and the model card once the model file
has changed."""
from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path


def parse_args(doc: str) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tensors", type=Path, default=Path("training/.cache/tensors"))
    p.add_argument("--model-dir", type=Path, default=Path("models/pneumonia-cnn"))
    p.add_argument("--version", help="the model version to record (the step changes the model file)")
    return p.parse_args()


def read_manifest(model_dir: Path) -> dict:
    return json.loads((model_dir / "manifest.json").read_text())


def write_manifest(model_dir: Path, manifest: dict, version: str | None, note: str) -> None:
    """Records the model file's new sha256 and size, and the new version with `note` (what it is, next to the
    version before it) when it differs; writes the manifest and the model card (which keeps the figures measured after
    training while the model file is unchanged)."""
    model_bytes = (model_dir / manifest["file"]).read_bytes()
    previous_sha256 = manifest.get("sha256")
    manifest["sha256"], manifest["bytes"] = hashlib.sha256(model_bytes).hexdigest(), len(model_bytes)
    if version and version != manifest["version"]:
        manifest["versionNote"] = f"Version {version} is {manifest['version']} {note}"
        manifest["version"] = version
    (model_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    from model_card import write_model_card

    write_model_card(model_dir / "MODEL_CARD.md", manifest, keep_measured=manifest["sha256"] == previous_sha256)
    print(f"wrote {model_dir / 'manifest.json'} and the model card (model sha256 {manifest['sha256']})")
