"""The CNN: plain conv stages, then global average pooling and one linear layer (as the article's CNN),
so class activation maps stay possible."""
from __future__ import annotations

import torch
from torch import nn


def _conv(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]


class PneumoniaCNN(nn.Module):
    """Grey image (N x 1 x H x W) in, one PNEUMONIA logit per image out (N x 1)."""

    def __init__(self, widths: tuple[int, ...] = (16, 32, 64, 128, 256), dropout: float = 0.3):
        super().__init__()
        layers: list[nn.Module] = _conv(1, widths[0])
        for c_in, c_out in zip(widths, widths[1:]):
            layers += [nn.MaxPool2d(2), *_conv(c_in, c_out), *_conv(c_out, c_out)]
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(widths[-1], 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.dropout(torch.flatten(self.pool(self.features(x)), 1)))
