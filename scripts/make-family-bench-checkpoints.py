#!/usr/bin/python3
"""Full-size random-weight checkpoints of issue 11's benchmark models, and images of their input size.

Writes into OUT (a temporary directory; never commit what it writes, ~60 MB):
  resnet18-tv.pt     torchvision ResNet-18 (BasicBlock, 64-128-256-512, 1000 classes, 224x224 input),
                     the exact state-dict naming of torchvision.models.resnet18
  preact18.pt        pre-activation ResNet-18 for CIFAR (pytorch-cifar's PreActResNet18, 10 classes)
  images224/<class>/ an image folder (torchvision ImageFolder layout) of 224x224 RGB PNGs: CIFAR-10
                     sample images 0-3 enlarged 7x by pixel repetition, one subfolder per class
  images32/<class>/  the same four images at 32x32
  manifest.json      what was written (files, seeds, image ids)

The networks are the plain torch.nn modules of scripts/make-family-checkpoints.py (torchvision is not
needed), with its seeded random weights and randomized batch-norm statistics (weight 0.5 + U(0,1),
bias 0.2 N(0,1), running mean 0.2 N(0,1), running var 0.5 + U(0,1)), so that BN is far from the identity.

Run from the repository root: /usr/bin/python3 scripts/make-family-bench-checkpoints.py OUT
"""
import importlib.util
import json
import os
import struct
import sys
import zlib

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLE = os.path.join(HERE, '..', 'data', 'cifar10-sample', 'test_batch_1000.bin')
CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']
IMAGES = [0, 1, 2, 3]


def families():
    """The module classes of make-family-checkpoints.py (its name has hyphens: load it by path)."""
    spec = importlib.util.spec_from_file_location('families', os.path.join(HERE, 'make-family-checkpoints.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_png(path, rgb):
    """An 8-bit RGB PNG (color type 2, no interlace) of an H x W x 3 uint8 array."""
    h, w, _ = rgb.shape
    raw = b''.join(b'\x00' + rgb[y].tobytes() for y in range(h))

    def chunk(kind, data):
        return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data) & 0xffffffff)

    with open(path, 'wb') as f:
        f.write(b'\x89PNG\r\n\x1a\n')
        f.write(chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 2, 0, 0, 0)))
        f.write(chunk(b'IDAT', zlib.compress(raw, 6)))
        f.write(chunk(b'IEND', b''))


def write_images(out):
    """Image folders at 32x32 and 224x224 (7x pixel repetition) of the CIFAR-10 sample images IMAGES."""
    raw = np.fromfile(SAMPLE, dtype=np.uint8).reshape(-1, 3073)
    written = {}
    for size, factor in (('images32', 1), ('images224', 7)):
        for i in IMAGES:
            label = int(raw[i, 0])
            hwc = raw[i, 1:].reshape(3, 32, 32).transpose(1, 2, 0)
            big = np.repeat(np.repeat(hwc, factor, axis=0), factor, axis=1)
            folder = os.path.join(out, size, f'{label:02d}-{CLASSES[label]}')
            os.makedirs(folder, exist_ok=True)
            write_png(os.path.join(folder, f'cifar-{i:04d}.png'), np.ascontiguousarray(big))
        written[size] = sorted(os.path.relpath(os.path.join(d, f), out) for d, _, fs in os.walk(os.path.join(out, size)) for f in fs)
    return written


def main():
    if len(sys.argv) != 2:
        sys.exit('usage: make-family-bench-checkpoints.py OUT')
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    f = families()
    torch.manual_seed(1109)
    models = {
        'resnet18-tv.pt': f.TvResNet(f.TvBasic, 64, [64, 128, 256, 512], [2, 2, 2, 2], 1000),
        'preact18.pt': f.PreActResNet([64, 128, 256, 512], [2, 2, 2, 2], 10, False),
    }
    for name, model in models.items():
        f.randomize(model)
        torch.save(model.state_dict(), os.path.join(out, name))
    images = write_images(out)
    with open(os.path.join(out, 'manifest.json'), 'w') as fh:
        json.dump({'generator': 'scripts/make-family-bench-checkpoints.py', 'torch': torch.__version__,
                   'checkpoints': list(models), 'images': images, 'cifarSampleIds': IMAGES}, fh, indent=1)
        fh.write('\n')


if __name__ == '__main__':
    main()
