"""Random changes to a batch of model inputs that a different X-ray machine or framing could make."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def random_affine(x: torch.Tensor, g: torch.Generator, degrees: float, scale: float, shift: float) -> torch.Tensor:
    """Rotation, zoom and shift together, edges repeated, as framing differs between clinics."""
    n = x.shape[0]
    angle = (torch.rand(n, generator=g) * 2 - 1) * math.radians(degrees)
    zoom = 1 + (torch.rand(n, generator=g) * 2 - 1) * scale
    tx, ty = ((torch.rand(2, n, generator=g) * 2 - 1) * shift).unbind(0)
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.stack([torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def random_photometric(x: torch.Tensor, g: torch.Generator, mean: float, std: float, strength: float) -> torch.Tensor:
    """Gamma, contrast and brightness in the [0, 1] pixel domain, as exposure differs between machines."""
    n = x.shape[0]
    unit = (x * std + mean).clamp(0, 1)
    gamma = torch.exp((torch.rand(n, 1, 1, 1, generator=g) * 2 - 1) * 0.4 * strength)
    contrast = 1 + (torch.rand(n, 1, 1, 1, generator=g) * 2 - 1) * 0.25 * strength
    brightness = (torch.rand(n, 1, 1, 1, generator=g) * 2 - 1) * 0.1 * strength
    unit = ((unit.pow(gamma) - 0.5) * contrast + 0.5 + brightness).clamp(0, 1)
    return (unit - mean) / std


def random_erase(x: torch.Tensor, g: torch.Generator, probability: float, max_fraction: float) -> torch.Tensor:
    """Blanks one rectangle in some images, so no single region (markers, text) decides the class."""
    n, _, h, w = x.shape
    out = x.clone()
    for i in torch.nonzero(torch.rand(n, generator=g) < probability).flatten().tolist():
        eh = int(h * max_fraction * torch.rand(1, generator=g).item()) + 1
        ew = int(w * max_fraction * torch.rand(1, generator=g).item()) + 1
        top = int(torch.randint(0, h - eh + 1, (1,), generator=g).item())
        left = int(torch.randint(0, w - ew + 1, (1,), generator=g).item())
        out[i, :, top : top + eh, left : left + ew] = 0
    return out


def random_border(x: torch.Tensor, g: torch.Generator, probability: float, max_fraction: float, mean: float, std: float,
                  swap: bool = False) -> torch.Tensor:
    """Covers a band of random width along each edge of some images with a random flat level, so laterality
    markers, labels and the framing at the edges (which differ between clinics, not between diagnoses) cannot
    decide the class. With swap, the bands show the same bands of another image of the batch instead: the neck,
    shoulders and markers there then come from an X-ray of either class, which a flat level does not teach."""
    n, _, h, w = x.shape
    out = x.clone()
    partners = torch.randperm(n, generator=g) if swap else None
    for i in torch.nonzero(torch.rand(n, generator=g) < probability).flatten().tolist():
        top, bottom, left, right = (torch.rand(4, generator=g) * max_fraction * torch.tensor([h, h, w, w])).long().tolist()
        level = (torch.rand(1, generator=g).item() - mean) / std
        fill = x[partners[i]] if partners is not None else torch.full_like(x[i], level)
        out[i, :, :top, :] = fill[:, :top, :]
        out[i, :, h - bottom :, :] = fill[:, h - bottom :, :]
        out[i, :, :, :left] = fill[:, :, :left]
        out[i, :, :, w - right :] = fill[:, :, w - right :]
    return out


def random_blur(x: torch.Tensor, g: torch.Generator, probability: float, max_sigma: float) -> torch.Tensor:
    """Gaussian blur of random width in some images, as detectors, downscaling and JPEG soften edges differently."""
    n, _, h, w = x.shape
    sigma = torch.rand(n, generator=g) * max_sigma * (torch.rand(n, generator=g) < probability)
    radius = max(1, math.ceil(2 * max_sigma))
    offsets = torch.arange(-radius, radius + 1, dtype=x.dtype)
    # A sigma of 0 gives the identity kernel (all weight on the centre tap).
    kernel = torch.exp(-offsets.pow(2) / (2 * sigma.clamp_min(1e-3).pow(2)).unsqueeze(1))
    kernel = kernel / kernel.sum(1, keepdim=True)
    padded = F.pad(x.reshape(1, n, h, w), (radius, radius, radius, radius), mode="replicate")
    rows = F.conv2d(padded, kernel.reshape(n, 1, 1, -1), groups=n)
    return F.conv2d(rows, kernel.reshape(n, 1, -1, 1), groups=n).reshape(n, 1, h, w)


def random_noise(x: torch.Tensor, g: torch.Generator, probability: float, max_std: float, std: float) -> torch.Tensor:
    """Additive Gaussian noise of random strength (in [0, 1] pixel units) in some images, as low-dose exposures show."""
    n = x.shape[0]
    strength = torch.rand(n, 1, 1, 1, generator=g) * max_std * (torch.rand(n, 1, 1, 1, generator=g) < probability)
    return x + torch.randn(x.shape, generator=g) * strength / std
