#!/usr/bin/env python3
"""Writes test/fixtures/resize-pytorch.json: PyTorch float64 bilinear resizes of one CIFAR-10 sample
image, the reference for the demo page's resize of a 32x32 image to a model's input size
(src/web/resize-image.ts, test/web-page-units.test.ts and test/web-page.test.ts).

Image 3 of web/samples/cifar10-test-0-49.bin (a cat), pixels / 255 in float64, resized with
torch.nn.functional.interpolate(mode='bilinear', align_corners=False, antialias=False) to 24x24
(down) and 48x40 (up, not square). Values are CHW, flattened.

Regenerate with: /usr/bin/python3 scripts/make-resize-fixture.py (needs torch; not run by the tests).
"""
import json
import os

import torch
import torch.nn.functional as F

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
SAMPLES = os.path.join(ROOT, 'web', 'samples', 'cifar10-test-0-49.bin')
IMAGE = 3
RECORD = 3073

with open(SAMPLES, 'rb') as f:
    data = f.read()
record = data[IMAGE * RECORD:(IMAGE + 1) * RECORD]
pixels = torch.tensor(list(record[1:]), dtype=torch.float64).reshape(1, 3, 32, 32) / 255

sizes = [[24, 24], [48, 40]]
out = {
    'generator': 'scripts/make-resize-fixture.py',
    'torch': torch.__version__,
    'image': IMAGE,
    'label': record[0],
    'resized': [],
}
for h, w in sizes:
    y = F.interpolate(pixels, size=(h, w), mode='bilinear', align_corners=False)
    out['resized'].append({'size': [h, w], 'pixels': [float(v) for v in y.reshape(-1).tolist()]})

with open(os.path.join(ROOT, 'test', 'fixtures', 'resize-pytorch.json'), 'w') as f:
    json.dump(out, f, separators=(',', ':'))
