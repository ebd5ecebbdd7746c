"""Makes the out-of-distribution evaluation set in test/fixtures/ood/ (see its README for every file's source
and licence), and renders the adult chest DICOMs of ../shared/data/dicom/chest to PNG for the gate's report.

    .venv/bin/python tools/make-ood-fixtures.py [--screenshots DIR_OF_CHROMIUM_PNGS]

Needs scikit-image and pydicom (training/requirements.txt); compressed DICOMs (JPEG 2000, JPEG-LS) are first
decompressed with gdcmconv (Debian's libgdcm-tools), since pydicom alone cannot decode them. Screenshots and
rendered documents come from tools/render-pages.sh (Chromium). Deterministic: the same files every run.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pydicom
import skimage.data
from PIL import Image, ImageDraw, ImageFont
from pydicom.data import get_testdata_file

OUT = Path("test/fixtures/ood")
XRAYS = Path("test/fixtures/xrays")
DICOM = Path("../shared/data/dicom")
ADULT_OUT = Path("test/fixtures/adult-chest")
# Big enough for the service (64 px a side at least), small enough to keep the repository light.
MAX_SIDE = 512


def save(image: Image.Image, path: Path, max_side: int = MAX_SIDE) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = image.copy()
    image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    if path.suffix == ".jpeg":
        image.convert("RGB" if image.mode in ("RGBA", "P", "RGB") else "L").save(path, quality=88)
    else:
        image.save(path, optimize=True)


def photos() -> None:
    """scikit-image's bundled sample images (its data/README lists each one's source and licence)."""
    colour = ["astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field"]
    grey = ["camera", "moon", "coins", "brick", "grass", "gravel", "clock", "horse"]
    for name in colour:
        save(Image.fromarray(getattr(skimage.data, name)()), OUT / "photos" / f"{name}.jpeg")
    for name in grey:
        array = getattr(skimage.data, name)()
        array = (array * 255).astype(np.uint8) if array.dtype == bool else array
        # Half as JPEG, half as PNG: the service decodes the two differently.
        save(Image.fromarray(array), OUT / "photos" / f"{name}.{'png' if name in grey[::2] else 'jpeg'}")


def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.truetype("DejaVuSans.ttf", size)
    except OSError:
        return ImageFont.load_default(size)


def logos() -> None:
    save(Image.fromarray(skimage.data.logo()), OUT / "logos" / "scikit-image-logo.png")
    for i, (colour, text) in enumerate([("#d33", "ACME"), ("#136", "Radiology+"), ("#2a7", "Clinic")]):
        image = Image.new("RGBA", (400, 200), (0, 0, 0, 0))
        draw = ImageDraw.Draw(image)
        draw.ellipse((10, 30, 150, 170), fill=colour)
        draw.text((170, 70), text, fill=colour, font=font(44))
        save(image, OUT / "logos" / f"generated-logo-{i + 1}.png")


def documents() -> None:
    save(Image.fromarray(skimage.data.page()), OUT / "documents" / "scanned-page.png")
    save(Image.fromarray(skimage.data.text()), OUT / "documents" / "photographed-text.jpeg")
    rng = np.random.default_rng(7)
    words = "patient report chest radiograph findings lungs clear no effusion heart size normal impression".split()
    for i in range(3):
        image = Image.new("L", (600, 800), 255)
        draw = ImageDraw.Draw(image)
        draw.text((40, 30), f"Report {i + 1}", fill=0, font=font(28))
        for line in range(30):
            draw.text((40, 90 + line * 22), " ".join(rng.choice(words, 8)), fill=30, font=font(15))
        save(image, OUT / "documents" / f"generated-report-{i + 1}.{'png' if i % 2 == 0 else 'jpeg'}")


def synthetic() -> None:
    rng = np.random.default_rng(20261130)
    size = 256
    ramp = np.tile(np.linspace(0, 255, size, dtype=np.float32), (size, 1))
    y, x = np.mgrid[0:size, 0:size]
    radial = np.clip(np.hypot(x - size / 2, y - size / 2) / (size / 2) * 255, 0, 255)
    images = {
        "blank-white.png": np.full((size, size), 255, np.uint8),
        "blank-black.png": np.zeros((size, size), np.uint8),
        "blank-grey.jpeg": np.full((size, size), 128, np.uint8),
        "noise-grey.png": rng.integers(0, 256, (size, size), dtype=np.uint8),
        "noise-colour.png": rng.integers(0, 256, (size, size, 3), dtype=np.uint8),
        "noise-gaussian.jpeg": np.clip(rng.normal(128, 40, (size, size)), 0, 255).astype(np.uint8),
        "gradient-horizontal.png": ramp.astype(np.uint8),
        "gradient-vertical.jpeg": ramp.T.astype(np.uint8),
        "gradient-radial.png": radial.astype(np.uint8),
        "checkerboard.png": skimage.data.checkerboard(),
        "binary-blobs.png": (skimage.data.binary_blobs(size, rng=1) * 255).astype(np.uint8),
        "colorwheel.png": skimage.data.colorwheel(),
    }
    for name, array in images.items():
        save(Image.fromarray(array), OUT / "synthetic" / name)
    for i, (background, ink) in enumerate([(255, 0), (0, 255)]):
        image = Image.new("L", (400, 300), background)
        ImageDraw.Draw(image).text((20, 120), "Hello, classifier", fill=ink, font=font(36))
        save(image, OUT / "synthetic" / f"text-{i + 1}.png")


def dicom_pixels(path: Path) -> np.ndarray:
    """The first frame as 8-bit grey, displayed as a radiologist would see it (VOI window, MONOCHROME1 inverted)."""
    dataset = pydicom.dcmread(path, force=True)
    if not dataset.file_meta.get("TransferSyntaxUID", pydicom.uid.ImplicitVRLittleEndian).is_compressed:
        return _display(dataset)
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.dcm"
        subprocess.run(["gdcmconv", "--raw", str(path), str(raw)], check=True)
        return _display(pydicom.dcmread(raw, force=True))


def _display(dataset: pydicom.Dataset) -> np.ndarray:
    from pydicom.pixels import apply_modality_lut, apply_voi_lut

    if "TransferSyntaxUID" not in dataset.file_meta:
        dataset.file_meta.TransferSyntaxUID = pydicom.uid.ImplicitVRLittleEndian
    pixels = dataset.pixel_array
    if pixels.ndim == 3 and dataset.get("SamplesPerPixel", 1) == 1:
        pixels = pixels[len(pixels) // 2]
    if dataset.get("SamplesPerPixel", 1) == 3:
        if str(dataset.get("PhotometricInterpretation", "RGB")).startswith("YBR_FULL"):
            pixels = pydicom.pixels.convert_color_space(pixels, dataset.PhotometricInterpretation, "RGB")
        return pixels.astype(np.uint8)
    modality = apply_modality_lut(pixels, dataset).astype(np.float64)
    values = apply_voi_lut(modality, dataset).astype(np.float64)
    low, high = np.percentile(values, [0.5, 99.5])
    if high - low < 1e-9:
        # A window that misses every pixel (JPEG2KLossless_1s_1f_u_16_16's): show the stored range instead.
        values = modality
        low, high = np.percentile(values, [0.5, 99.5])
    grey = np.clip((values - low) / max(high - low, 1e-9), 0, 1)
    if dataset.get("PhotometricInterpretation") == "MONOCHROME1":
        grey = 1 - grey
    return (grey * 255).astype(np.uint8)


def medical() -> None:
    """Other medical images: CT and MR slices from pydicom's test files, a CT phantom, microscopy, a fundus photo."""
    # CT, MR, a nuclear medicine bone scan and ultrasound, as pydicom's wheel ships them (MIT; see its README).
    names = ["CT_small.dcm", "693_J2KI.dcm", "J2K_pixelrep_mismatch.dcm", "MR_small.dcm", "examples_overlay.dcm",
             "JPEG2000.dcm", "examples_rgb_color.dcm"]
    for name in names:
        path = Path(get_testdata_file(name))
        array = dicom_pixels(path)
        image = Image.fromarray(array)
        if min(image.size) < 128:
            image = image.resize((image.width * 4, image.height * 4), Image.Resampling.BICUBIC)
        save(image, OUT / "medical" / f"pydicom-{path.stem}.png")
    save(Image.fromarray((skimage.data.shepp_logan_phantom() * 255).astype(np.uint8)), OUT / "medical" / "shepp-logan-ct-phantom.png")
    save(Image.fromarray(skimage.data.immunohistochemistry()), OUT / "medical" / "immunohistochemistry.jpeg")
    save(Image.fromarray(skimage.data.retina()), OUT / "medical" / "retina-fundus.jpeg")
    save(Image.fromarray(skimage.data.cell()), OUT / "medical" / "cell-microscopy.png")
    micro = Image.fromarray(skimage.data.microaneurysms())
    save(micro.resize((306, 306), Image.Resampling.BICUBIC), OUT / "medical" / "retina-microaneurysms.png")
    save(Image.fromarray(dicom_pixels(DICOM / "refuse" / "animal-lateral-thorax-dx.dcm")), OUT / "medical" / "animal-lateral-thorax.png")


def transformed() -> None:
    """The chest fixtures made unlike a frontal, upright, whole, correctly displayed X-ray."""
    for path in sorted(XRAYS.glob("*/*.jpeg")):
        image = Image.open(path).convert("L")
        image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
        stem = path.stem
        save(Image.fromarray(255 - np.asarray(image)), OUT / "transformed" / "inverted" / f"{stem}.jpeg")
        save(image.rotate(90, expand=True), OUT / "transformed" / "rotated-90" / f"{stem}.jpeg")
        save(image.crop((0, 0, image.width // 3, image.height // 3)), OUT / "transformed" / "corner-crop" / f"{stem}.jpeg")


def adult_chest() -> None:
    for path in sorted((DICOM / "chest").glob("*.dcm")):
        save(Image.fromarray(dicom_pixels(path)), ADULT_OUT / f"{path.stem}.png")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--screenshots", type=Path, help="PNGs rendered by Chromium, copied in as screenshots")
    args = p.parse_args()
    photos()
    logos()
    documents()
    synthetic()
    medical()
    transformed()
    adult_chest()
    if args.screenshots:
        for png in sorted(args.screenshots.glob("*.png")):
            target = OUT / ("documents" if png.stem.startswith("document-") else "screenshots") / png.name
            save(Image.open(png), target, max_side=1024)
    print(f"wrote {sum(1 for _ in OUT.rglob('*.*'))} files under {OUT} and {len(list(ADULT_OUT.glob('*.png')))} in {ADULT_OUT}")


if __name__ == "__main__":
    main()
