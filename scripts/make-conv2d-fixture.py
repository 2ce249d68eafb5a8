#!/usr/bin/env python3
"""Writes test/fixtures/conv2d-pytorch.json: PyTorch float64 values for the WASM convolution and
max-pool kernels (test/conv2d-kernels.test.ts).

One convolution per kernel size the ResNet families use (1x1/2 P0, 3x3/2 P1, 7x7/2 P3, odd and even
sizes), each with its input x, OIHW weight, output conv2d(x) and, for a random output gradient g,
the input gradient (the VJP) from autograd; and one torchvision-stem max-pool (3x3/2 P1) on values
with ties, with its output, its argmax indices (return_indices), the JVP of a random tangent v
(torch.autograd.functional.jvp) and the VJP of a random g.

Regenerate with: python3 scripts/make-conv2d-fixture.py (needs torch; not run by the tests).
"""
import json
import os

import torch
import torch.nn.functional as F

torch.manual_seed(1107)
torch.set_default_dtype(torch.float64)


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def conv_case(batch, c_in, c_out, h, w, kernel, stride, pad):
    x = torch.randn(batch, c_in, h, w, requires_grad=True)
    weight = torch.randn(c_out, c_in, kernel, kernel)
    y = F.conv2d(x, weight, stride=stride, padding=pad)
    g = torch.randn_like(y)
    (grad,) = torch.autograd.grad(y, x, g)
    return {
        "batch": batch, "cIn": c_in, "cOut": c_out, "h": h, "w": w,
        "kernel": kernel, "stride": stride, "pad": pad, "outShape": list(y.shape),
        "x": flat(x), "weight": flat(weight), "y": flat(y), "g": flat(g), "gradX": flat(grad),
    }


def pool_case(channels, h, w, kernel, stride, pad):
    # Multiples of 1/2 in [-1, 1]: most windows hold tied maxima.
    x = torch.randint(-2, 3, (1, channels, h, w)).to(torch.float64) / 2
    y, index = F.max_pool2d(x, kernel, stride, pad, return_indices=True)
    v = torch.randn_like(x)
    _, jv = torch.autograd.functional.jvp(lambda t: F.max_pool2d(t, kernel, stride, pad), x, v)
    g = torch.randn_like(y)
    xg = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(F.max_pool2d(xg, kernel, stride, pad), xg, g)
    return {
        "channels": channels, "h": h, "w": w, "kernel": kernel, "stride": stride, "pad": pad,
        "outShape": list(y.shape), "x": flat(x), "y": flat(y), "index": [int(i) for i in index.reshape(-1).tolist()],
        "v": flat(v), "jv": flat(jv), "g": flat(g), "gradX": flat(grad),
    }


fixture = {
    "generator": "scripts/make-conv2d-fixture.py, torch " + torch.__version__ + ", float64, seed 1107",
    "conv": [
        conv_case(1, 3, 2, 5, 4, 1, 2, 0),
        conv_case(2, 2, 3, 5, 6, 3, 2, 1),
        conv_case(1, 2, 2, 9, 8, 7, 2, 3),
    ],
    "pool": [pool_case(2, 7, 6, 3, 2, 1)],
}

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures", "conv2d-pytorch.json")
with open(out, "w") as f:
    json.dump(fixture, f, separators=(",", ":"))
    f.write("\n")
print("wrote", os.path.relpath(out))
