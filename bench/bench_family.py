"""PyTorch peer for bench/family.ts (issue 11): the same unit spectra of imported families, float64, CPU.

  topk  CHECKPOINT SIDE IMAGE UNIT K   the K largest singular values of torchvision ResNet-18 unit
        (stage, index) at CIFAR-10 sample image IMAGE enlarged to SIDE x SIDE by pixel repetition
        (what scripts/make-family-bench-checkpoints.py writes as PNG): scipy.sparse.linalg.svds on a
        LinearOperator whose products are torch.func (functorch in torch 1.13) jvp / vjp of the unit
  logits CHECKPOINT tv|preact SIDE COUNT   float64 logits of sample images 0..COUNT-1 at SIDE x SIDE
  topk-preact CHECKPOINT IMAGE UNIT K  the K largest singular values of pre-activation ResNet-18 unit
        UNIT at CIFAR-10 sample image IMAGE (32x32), as topk (the reference for its full spectrum at
        sizes where PyTorch's dense Jacobian + svdvals would take hours)
  full  CHECKPOINT IMAGE UNIT           every singular value of pre-activation ResNet-18 unit UNIT at
        CIFAR-10 sample image IMAGE (32x32): torch.autograd.functional.jacobian (vectorized) +
        torch.linalg.svdvals

UNIT is "stage.index" (1-based, as the CLI's labels). Both time from the float64 model in memory
(weights loaded, not timed) to the values; the forward pass to the unit's input is timed too.
Writes the values (descending, little-endian float64) to VALUES_OUT when given as the last argument,
and prints one JSON line. 2 threads (torch.set_num_threads(2)).
"""
import importlib.util
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

try:
    from torch.func import jvp, vjp
except ImportError:  # torch < 2.0: the same functions live in functorch
    from functorch import jvp, vjp

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLE = os.path.join(HERE, '..', 'data', 'cifar10-sample', 'test_batch_1000.bin')
MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]


def families():
    spec = importlib.util.spec_from_file_location('families', os.path.join(HERE, '..', 'scripts', 'make-family-checkpoints.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def image(index, side):
    """The sample image as the package reads its PNG: 8-bit values / 255 rounded to float32, then float64."""
    raw = np.fromfile(SAMPLE, dtype=np.uint8).reshape(-1, 3073)[index, 1:].reshape(3, 32, 32)
    factor = side // 32
    big = np.repeat(np.repeat(raw, factor, axis=1), factor, axis=2)
    x = torch.from_numpy((big / 255.0).astype(np.float32)).double()[None]
    return (x - torch.tensor(MEAN, dtype=torch.float64).view(1, 3, 1, 1)) / torch.tensor(STD, dtype=torch.float64).view(1, 3, 1, 1)


def split(label):
    stage, index = label.split('.')
    return int(stage), int(index) - 1


def topk(checkpoint, side, index, label, k, family='tv'):
    from scipy.sparse.linalg import LinearOperator, svds
    f = families()
    if family == 'tv':
        model = f.TvResNet(f.TvBasic, 64, [64, 128, 256, 512], [2, 2, 2, 2], 1000)
    else:
        model = f.PreActResNet([64, 128, 256, 512], [2, 2, 2, 2], 10, False)
    model.load_state_dict(torch.load(checkpoint))
    model = model.double().eval()
    stage, i = split(label)
    x = image(index, side)
    start = time.perf_counter()
    with torch.no_grad():
        h = model.maxpool(F.relu(model.bn1(model.conv1(x)))) if family == 'tv' else model.conv1(x)
        for s in range(1, stage + 1):
            blocks = getattr(model, f'layer{s}')
            for b in range(len(blocks) if s < stage else i):
                h = blocks[b](h)
    block = getattr(model, f'layer{stage}')[i]
    shape = h.shape
    out_shape = block(h).shape
    unit = lambda v: block(v.reshape(shape)).reshape(-1)
    point = h.reshape(-1).detach()
    # The VJP closure is built once (a linearization at the point), then reused for every product.
    _, pullback = vjp(unit, point)
    products = {'jvp': 0, 'vjp': 0}

    def matvec(v):
        products['jvp'] += 1
        with torch.no_grad():
            return jvp(unit, (point,), (torch.from_numpy(np.ascontiguousarray(v.reshape(-1))),))[1].numpy()

    def rmatvec(u):
        products['vjp'] += 1
        return pullback(torch.from_numpy(np.ascontiguousarray(u.reshape(-1))))[0].detach().numpy()

    m, n = int(np.prod(out_shape)), int(np.prod(shape))
    op = LinearOperator((m, n), matvec=matvec, rmatvec=rmatvec, dtype=np.float64)
    values = svds(op, k=k, tol=1e-10, return_singular_vectors=False, random_state=np.random.default_rng(0))
    seconds = time.perf_counter() - start
    return np.sort(values)[::-1].copy(), {'seconds': seconds, 'shape': [m, n], 'products': products}


def full(checkpoint, index, label):
    f = families()
    model = f.PreActResNet([64, 128, 256, 512], [2, 2, 2, 2], 10, False)
    model.load_state_dict(torch.load(checkpoint))
    model = model.double().eval()
    stage, i = split(label)
    x = image(index, 32)
    start = time.perf_counter()
    with torch.no_grad():
        h = model.conv1(x)
        for s in range(1, stage + 1):
            blocks = getattr(model, f'layer{s}')
            for b in range(len(blocks) if s < stage else i):
                h = blocks[b](h)
    block = getattr(model, f'layer{stage}')[i]
    shape = h.shape
    unit = lambda v: block(v.reshape(shape)).reshape(-1)
    jac = torch.autograd.functional.jacobian(unit, h.reshape(-1), vectorize=True)
    jacobian_seconds = time.perf_counter() - start
    values = torch.linalg.svdvals(jac)
    seconds = time.perf_counter() - start
    return values.numpy().copy(), {'seconds': seconds, 'jacobianSeconds': jacobian_seconds, 'shape': list(jac.shape)}


def logits(checkpoint, family, side, count):
    f = families()
    if family == 'tv':
        model = f.TvResNet(f.TvBasic, 64, [64, 128, 256, 512], [2, 2, 2, 2], 1000)
    else:
        model = f.PreActResNet([64, 128, 256, 512], [2, 2, 2, 2], 10, False)
    model.load_state_dict(torch.load(checkpoint))
    model = model.double().eval()
    with torch.no_grad():
        return [model(image(i, side))[0].tolist() for i in range(count)]


def main():
    torch.set_num_threads(2)
    what, args = sys.argv[1], sys.argv[2:]
    if what == 'logits':
        print(json.dumps({'logits': logits(args[0], args[1], int(args[2]), int(args[3]))}))
        return
    if what == 'topk':
        values, info = topk(args[0], int(args[1]), int(args[2]), args[3], int(args[4]))
        out = args[5] if len(args) > 5 else None
    elif what == 'topk-preact':
        values, info = topk(args[0], 32, int(args[1]), args[2], int(args[3]), 'preact')
        out = args[4] if len(args) > 4 else None
    elif what == 'full':
        values, info = full(args[0], int(args[1]), args[2])
        out = args[3] if len(args) > 3 else None
    else:
        sys.exit(f'unknown mode {what}')
    if out:
        values.astype('<f8').tofile(out)
    print(json.dumps({**info, 'smax': float(values[0]), 'count': int(values.size), 'threads': torch.get_num_threads(), 'torch': torch.__version__}))


if __name__ == '__main__':
    main()
