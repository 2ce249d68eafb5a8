"""PyTorch peer of bench/jacobian.ts: products with and the dense form of one residual unit's Jacobian.

    bench_jacobian.py <checkpoint> <test_batch.bin> <image> <unit> <block> <runs> <dense_runs>

The unit's input h is image <image> pushed through the stem and the units before <unit> in float64
(pixels / 255, normalized with float32 mean/std as the references are). The linear operator is
J = D_out (alpha S + B2 W2 D_mid B1 W1) with the masks of that point:
  - J V for a block of <block> vectors as conv2d calls with masks (f64 and f32, no autograd),
  - J^T U likewise with conv_transpose2d,
  - the dense J by torch.autograd.functional.jacobian(unit, h, vectorize=True) in f64.
Prints one JSON line: seconds of every run, and ||J||_F^2 of the dense J (to check that both sides
computed the same matrix). torch.set_num_threads(2). Stride-1 units only (identity shortcut).
"""
import json
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

from torch_resnet import MEAN, STD, load

checkpoint, data, image, unit_index, block, runs, dense_runs = (
    sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7]))
torch.set_num_threads(2)
torch.manual_seed(0)

model = load(checkpoint).double()
raw = np.fromfile(data, dtype=np.uint8, count=3073, offset=image * 3073)
pixels = torch.from_numpy(raw[1:].astype(np.float64) / 255.0).reshape(1, 3, 32, 32)
mean = torch.tensor(MEAN).double()[None, :, None, None]  # float32 constants widened, as in the references
std = torch.tensor(STD).double()[None, :, None, None]
units = model.units()
unit = units[unit_index]
assert unit.pad == 0 and unit.conv1.stride == (1, 1), "stride-1 units only"

with torch.no_grad():
    h = F.relu(model.bn1(model.conv1((pixels - mean) / std)))
    for u in units[:unit_index]:
        h = u(h)
    a1 = unit.bn1(unit.conv1(h))
    pre = unit.alpha * h + unit.bn2(unit.conv2(F.relu(a1)))
    mid = (a1 > 0).double()
    out = (pre > 0).double()


def bn_scale(bn):
    return bn.weight / torch.sqrt(bn.running_var + bn.eps)


def operator(dtype):
    w1 = (unit.conv1.weight * bn_scale(unit.bn1)[:, None, None, None]).detach().to(dtype)
    w2 = (unit.conv2.weight * bn_scale(unit.bn2)[:, None, None, None]).detach().to(dtype)
    d_mid, d_out, alpha = mid.to(dtype), out.to(dtype), unit.alpha

    def jv(v):
        z = F.conv2d(v, w1, padding=1) * d_mid
        return (F.conv2d(z, w2, padding=1) + alpha * v) * d_out

    def jtu(u):
        g = u * d_out
        z = F.conv_transpose2d(g, w2, padding=1) * d_mid
        return F.conv_transpose2d(z, w1, padding=1) + alpha * g

    return jv, jtu


def timed(fn, count):
    seconds = []
    for _ in range(count):
        start = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - start)
    return seconds


result = {"torch": torch.__version__, "threads": torch.get_num_threads()}
with torch.no_grad():
    for dtype, name in ((torch.float64, "f64"), (torch.float32, "f32")):
        jv, jtu = operator(dtype)
        v = torch.randn(block, *h.shape[1:], dtype=dtype)
        jv(v), jtu(v)  # warm-up
        result[f"jv_{name}"] = timed(lambda: jv(v), runs)
        result[f"jtu_{name}"] = timed(lambda: jtu(v), runs)

if dense_runs > 0:
    unit_fn = lambda x: unit(x)  # noqa: E731
    dense = None
    seconds = []
    for _ in range(dense_runs):
        dense = None
        start = time.perf_counter()
        dense = torch.autograd.functional.jacobian(unit_fn, h, vectorize=True)
        seconds.append(time.perf_counter() - start)
    result["dense_f64"] = seconds
    result["dense_sum_squares"] = float((dense.reshape(-1) ** 2).sum())

print(json.dumps(result))
