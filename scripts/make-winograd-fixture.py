#!/usr/bin/env python3
"""Writes test/fixtures/winograd-pytorch.json: PyTorch float64 values for the Winograd F(4x4, 3x3)
convolution (assembly/winograd.ts) as the tfjs wasm backend runs it (src/model/backend.ts), and for
the input gradient of stride-1 and stride-2 3x3 convolutions (graph-forward.ts stridedAdjoint), in
tfjs' NHWC / HWIO layouts (test/winograd.test.ts).

Inputs and weights are float32 values (rounded before the float64 products), so the float32 kernel
and the references see the same operands. Cases: 4x4-tile multiples and ragged sizes, C and K on and
beside the register tiles (C % 4, K % 8), bias and ReLU; each conv case with a random output gradient
g and autograd's input gradient.

Regenerate with: /usr/bin/python3 scripts/make-winograd-fixture.py (needs torch; not run by the tests).
"""
import json
import os

import torch
import torch.nn.functional as F

torch.manual_seed(1512)


def flat(t):
    """float32 operands exactly (shortest float32 repr), float64 results to 12 significant digits."""
    return [float(f"{v:.12g}") for v in t.detach().reshape(-1).tolist()]


def flat32(t):
    import numpy as np
    return [float(repr(np.float32(v))) for v in t.detach().reshape(-1).tolist()]


def case(batch, h, w, c, k, stride, relu):
    x = torch.randn(batch, c, h, w).float().double().requires_grad_(True)
    weight = (torch.randn(k, c, 3, 3) / (3 * c ** 0.5)).float().double()
    bias = torch.randn(k).float().double()
    pre = F.conv2d(x, weight, bias, stride=stride, padding=1)
    y = F.relu(pre) if relu else pre
    g = torch.randn_like(pre).float().double()
    (grad,) = torch.autograd.grad(pre, x, g)  # the gradient of the convolution alone
    nhwc = lambda t: t.permute(0, 2, 3, 1)
    return {
        "batch": batch, "h": h, "w": w, "c": c, "k": k, "stride": stride, "relu": relu,
        "outShape": list(nhwc(y).shape),
        "x": flat32(nhwc(x)), "filter": flat32(weight.permute(2, 3, 1, 0)), "bias": flat32(bias),
        "y": flat(nhwc(y)), "g": flat32(nhwc(g)), "gradX": flat(nhwc(grad)),
    }


fixture = {
    "generator": "scripts/make-winograd-fixture.py, torch " + torch.__version__ + ", float64 products of float32 operands (written exactly; results to 12 digits), seed 1512",
    "layout": "x, y, g, gradX NHWC; filter HWIO (3 x 3 x C x K); y = conv(x) + bias, then ReLU when relu",
    "cases": [
        case(1, 8, 8, 16, 16, 1, True),
        case(1, 7, 10, 8, 24, 1, False),
        case(3, 5, 3, 4, 8, 1, True),
        case(1, 4, 4, 32, 16, 1, False),
        case(1, 6, 6, 3, 16, 1, True),   # C = 3: the backend's own kernel
        case(1, 8, 8, 16, 16, 2, False),  # stride 2: XNNPACK forward, stridedAdjoint gradient
        case(1, 7, 5, 8, 8, 2, True),
    ],
}
path = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "winograd-pytorch.json")
with open(path, "w") as f:
    json.dump(fixture, f)
print(path, os.path.getsize(path), "bytes")
