#!/usr/bin/python3
"""The 224x224 contract of issue 11 at a size CI can afford: a torchvision-named model at 64x64.

Writes into test/fixtures/families/:
  size64-cifar0.png   CIFAR-10 sample image 0 enlarged to 64x64 by pixel repetition (8-bit RGB PNG)
  size64.json         for tv-basic.pt (make-family-checkpoints.py) imported with --input-size 64x64:
                      PyTorch float64 logits of that image, and for units 1.1 (8x16x16 -> 8x16x16) and
                      2.1 (8x16x16 -> 16x8x8) every singular value (torch.autograd.functional.jacobian +
                      torch.linalg.svdvals), descending, as lists of float64

Pixels as the package reads the PNG: 8-bit / 255 rounded to float32, normalized in float64 with the
package's default mean/std. Run from the repository root (torch): /usr/bin/python3 scripts/make-family-size-fixture.py
"""
import importlib.util
import json
import os

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, '..', 'test', 'fixtures', 'families')
SAMPLE = os.path.join(HERE, '..', 'data', 'cifar10-sample', 'test_batch_1000.bin')
MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]
SIDE = 64
UNITS = ['1.1', '2.1']


def load(name):
    spec = importlib.util.spec_from_file_location(name.replace('-', '_'), os.path.join(HERE, name + '.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    f = load('make-family-checkpoints')
    bench = load('make-family-bench-checkpoints')
    raw = np.fromfile(SAMPLE, dtype=np.uint8).reshape(-1, 3073)[0, 1:].reshape(3, 32, 32)
    big = np.repeat(np.repeat(raw, SIDE // 32, axis=1), SIDE // 32, axis=2)
    bench.write_png(os.path.join(OUT, 'size64-cifar0.png'), np.ascontiguousarray(big.transpose(1, 2, 0)))
    x = torch.from_numpy((big / 255.0).astype(np.float32)).double()[None]
    x = (x - torch.tensor(MEAN, dtype=torch.float64).view(1, 3, 1, 1)) / torch.tensor(STD, dtype=torch.float64).view(1, 3, 1, 1)

    model = f.TvResNet(f.TvBasic, 8, [8, 16, 32, 64], [2, 1, 1, 1], 10)
    model.load_state_dict(torch.load(os.path.join(OUT, 'tv-basic.pt')))
    model = model.double().eval()
    with torch.no_grad():
        logits = model(x)
        h = model.maxpool(F.relu(model.bn1(model.conv1(x))))
        inputs = {'1.1': h, '1.2': model.layer1[0](h)}
        inputs['2.1'] = model.layer1[1](inputs['1.2'])
    blocks = {'1.1': model.layer1[0], '2.1': model.layer2[0]}
    spectra = {}
    for label in UNITS:
        point = inputs[label]
        unit = lambda v, b=blocks[label], s=point.shape: b(v.reshape(s)).reshape(-1)
        jac = torch.autograd.functional.jacobian(unit, point.reshape(-1), vectorize=True)
        spectra[label] = {'shape': list(jac.shape), 'values': torch.linalg.svdvals(jac).tolist()}
    with open(os.path.join(OUT, 'size64.json'), 'w') as fh:
        json.dump({'generator': 'scripts/make-family-size-fixture.py', 'torch': torch.__version__, 'checkpoint': 'tv-basic.pt',
                   'inputSize': [SIDE, SIDE], 'image': 'size64-cifar0.png', 'cifarSampleId': 0,
                   'logits': logits[0].tolist(), 'spectra': spectra}, fh)
        fh.write('\n')


if __name__ == '__main__':
    main()
