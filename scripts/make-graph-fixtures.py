#!/usr/bin/env python3
"""Writes test/fixtures/graph-units-pytorch.json: PyTorch float64 references for the general
linearization (src/linearize/graph-*.ts, test/graph-linearize.test.ts).

One small network per residual family of issue 11, built in plain torch.nn with the state-dict
naming of that family, seeded random weights and randomized BN statistics (eval mode):

  cifar-a        CIFAR ResNet 6n+2, option-A shortcut     conv1 bn1 layerK.I.{conv1,bn1,conv2,bn2} linear
  cifar-b        CIFAR ResNet, option B                    ... layerK.0.shortcut.{0,1}
  preact         pre-activation (pytorch-cifar + final bn) conv1 layerK.I.{bn1,conv1,bn2,conv2,shortcut.0} bn linear
  wrn            Wide ResNet                               conv1 blockK.layer.I.{bn1,conv1,bn2,conv2,convShortcut} bn1 fc
  tv-basic       torchvision BasicBlock, 7x7/2 stem + pool conv1 bn1 layerK.I.{conv1,bn1,conv2,bn2,downsample.{0,1}} fc
  tv-bottleneck  torchvision Bottleneck                    ... {conv1,bn1,conv2,bn2,conv3,bn3,downsample.{0,1}} fc

Each unit computes post(alpha * shortcut + body) with every body conv weight times beta (the
paper's scales; some families use alpha, beta != 1). For each family the file holds the weights
(float32, base64), the layer graph as lists of layers naming their state-dict keys, a float64 input
(the network input, no normalization), PyTorch's float64 logits and every unit's input and output,
and for one or two units: J v and J^T u of seeded random vectors (torch.func-free: autograd.functional
jvp/vjp), all singular values of the unit Jacobian (autograd.functional.jacobian +
torch.linalg.svdvals), or, for a larger unit, the top 6 from scipy.sparse.linalg.svds on a
LinearOperator of jvp/vjp.

Arrays are base64 of little-endian float32 ("f32") or float64 ("f64") values.
Regenerate with: /usr/bin/python3 scripts/make-graph-fixtures.py (needs torch, scipy; not run by tests).
With --study it writes test/fixtures/graph-study-pytorch.json instead (see study() below).
"""
import base64
import json
import os

import numpy as np
import scipy
import scipy.sparse.linalg as sla
import torch
import torch.nn as nn
import torch.nn.functional as F

SEED = 1111
torch.manual_seed(SEED)
np.random.seed(SEED)


def b64(t, dtype):
    a = np.ascontiguousarray(t.detach().cpu().numpy().reshape(-1), dtype=dtype)
    return base64.b64encode(a.astype("<" + a.dtype.str[1:]).tobytes()).decode("ascii")


def randomize(module):
    """Random conv/linear weights (He scaling) and BN statistics, float32 values."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            fan_in = m.in_channels * m.kernel_size[0] * m.kernel_size[1]
            nn.init.normal_(m.weight, 0.0, (2.0 / fan_in) ** 0.5)
        elif isinstance(m, nn.BatchNorm2d):
            with torch.no_grad():
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0.0, 0.2)
                m.running_mean.normal_(0.0, 0.2)
                m.running_var.uniform_(0.5, 1.5)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, (1.0 / m.in_features) ** 0.5)
            nn.init.normal_(m.bias, 0.0, 0.1)


# ---------------------------------------------------------------------------------------------------
# The families' units. `alpha` and `beta` are set on every unit after construction.

def bn(c):
    return nn.BatchNorm2d(c)


def conv(cin, cout, k, s, p):
    return nn.Conv2d(cin, cout, k, stride=s, padding=p, bias=False)


class CifarBlock(nn.Module):
    """Post-activation basic block; option 'A' (zero-pad) or 'B' (shortcut.{0,1}) when the shape changes."""

    def __init__(self, cin, cout, stride, option):
        super().__init__()
        self.conv1, self.bn1 = conv(cin, cout, 3, stride, 1), bn(cout)
        self.conv2, self.bn2 = conv(cout, cout, 3, 1, 1), bn(cout)
        self.option = option if (stride != 1 or cin != cout) else None
        self.pad = (cout - cin) // 2
        if self.option == "B":
            self.shortcut = nn.Sequential(conv(cin, cout, 1, stride, 0), bn(cout))

    def body(self, x):
        return self.bn2(F.conv2d(F.relu(self.bn1(F.conv2d(x, self.beta * self.conv1.weight, stride=self.conv1.stride, padding=1))),
                                 self.beta * self.conv2.weight, padding=1))

    def forward(self, x):
        if self.option == "A":
            s = F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad))
        elif self.option == "B":
            s = self.shortcut(x)
        else:
            s = x
        return F.relu(self.alpha * s + self.body(x))


class PreActBlock(nn.Module):
    """pytorch-cifar PreActBlock (shortcut.0 from relu(bn1 x)); WRN's block with `wrn` naming."""

    def __init__(self, cin, cout, stride, wrn=False):
        super().__init__()
        self.bn1, self.conv1 = bn(cin), conv(cin, cout, 3, stride, 1)
        self.bn2, self.conv2 = bn(cout), conv(cout, cout, 3, 1, 1)
        self.wrn = wrn
        self.has_shortcut = stride != 1 or cin != cout
        if self.has_shortcut:
            if wrn:
                self.convShortcut = conv(cin, cout, 1, stride, 0)
            else:
                self.shortcut = nn.Sequential(conv(cin, cout, 1, stride, 0))

    def forward(self, x):
        p = F.relu(self.bn1(x))
        if self.has_shortcut:
            s = self.convShortcut(p) if self.wrn else self.shortcut(p)
        else:
            s = x
        b = F.conv2d(p, self.beta * self.conv1.weight, stride=self.conv1.stride, padding=1)
        b = F.conv2d(F.relu(self.bn2(b)), self.beta * self.conv2.weight, padding=1)
        return self.alpha * s + b


class TvBasic(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1, self.bn1 = conv(cin, cout, 3, stride, 1), bn(cout)
        self.conv2, self.bn2 = conv(cout, cout, 3, 1, 1), bn(cout)
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(conv(cin, cout, 1, stride, 0), bn(cout))
        else:
            self.downsample = None

    def forward(self, x):
        s = self.downsample(x) if self.downsample is not None else x
        b = F.relu(self.bn1(F.conv2d(x, self.beta * self.conv1.weight, stride=self.conv1.stride, padding=1)))
        b = self.bn2(F.conv2d(b, self.beta * self.conv2.weight, padding=1))
        return F.relu(self.alpha * s + b)


class TvBottleneck(nn.Module):
    def __init__(self, cin, width, stride, expansion=4):
        super().__init__()
        cout = width * expansion
        self.conv1, self.bn1 = conv(cin, width, 1, 1, 0), bn(width)
        self.conv2, self.bn2 = conv(width, width, 3, stride, 1), bn(width)
        self.conv3, self.bn3 = conv(width, cout, 1, 1, 0), bn(cout)
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(conv(cin, cout, 1, stride, 0), bn(cout))
        else:
            self.downsample = None

    def forward(self, x):
        s = self.downsample(x) if self.downsample is not None else x
        b = F.relu(self.bn1(F.conv2d(x, self.beta * self.conv1.weight)))
        b = F.relu(self.bn2(F.conv2d(b, self.beta * self.conv2.weight, stride=self.conv2.stride, padding=1)))
        b = self.bn3(F.conv2d(b, self.beta * self.conv3.weight))
        return F.relu(self.alpha * s + b)


# ---------------------------------------------------------------------------------------------------
# Networks: (module, stem, units as (state-dict prefix, block, stage, index), head) and the layer
# graph each unit has in src/model/graph.ts form, naming state-dict keys.

def L_conv(key, m):
    return {"op": "conv", "weight": key + ".weight", "inChannels": m.in_channels, "outChannels": m.out_channels,
            "kernel": m.kernel_size[0], "stride": m.stride[0], "padding": m.padding[0]}


def L_bn(key, m):
    return {"op": "bn", "key": key, "channels": m.num_features}


RELU = {"op": "relu"}


def unit_layers(prefix, block):
    if isinstance(block, CifarBlock):
        body = [L_conv(prefix + ".conv1", block.conv1), L_bn(prefix + ".bn1", block.bn1), RELU,
                L_conv(prefix + ".conv2", block.conv2), L_bn(prefix + ".bn2", block.bn2)]
        if block.option == "A":
            sc = [{"op": "option-a", "inChannels": block.conv1.in_channels, "outChannels": block.conv1.out_channels,
                   "stride": block.conv1.stride[0]}]
        elif block.option == "B":
            sc = [L_conv(prefix + ".shortcut.0", block.shortcut[0]), L_bn(prefix + ".shortcut.1", block.shortcut[1])]
        else:
            sc = []
        return {"pre": [], "body": body, "shortcut": sc, "shortcutFrom": "input", "post": [RELU]}
    if isinstance(block, PreActBlock):
        pre = [L_bn(prefix + ".bn1", block.bn1), RELU]
        body = [L_conv(prefix + ".conv1", block.conv1), L_bn(prefix + ".bn2", block.bn2), RELU,
                L_conv(prefix + ".conv2", block.conv2)]
        if block.has_shortcut:
            key = prefix + (".convShortcut" if block.wrn else ".shortcut.0")
            m = block.convShortcut if block.wrn else block.shortcut[0]
            return {"pre": pre, "body": body, "shortcut": [L_conv(key, m)], "shortcutFrom": "pre", "post": []}
        return {"pre": pre, "body": body, "shortcut": [], "shortcutFrom": "input", "post": []}
    if isinstance(block, TvBasic):
        body = [L_conv(prefix + ".conv1", block.conv1), L_bn(prefix + ".bn1", block.bn1), RELU,
                L_conv(prefix + ".conv2", block.conv2), L_bn(prefix + ".bn2", block.bn2)]
    else:
        body = [L_conv(prefix + ".conv1", block.conv1), L_bn(prefix + ".bn1", block.bn1), RELU,
                L_conv(prefix + ".conv2", block.conv2), L_bn(prefix + ".bn2", block.bn2), RELU,
                L_conv(prefix + ".conv3", block.conv3), L_bn(prefix + ".bn3", block.bn3)]
    sc = []
    if block.downsample is not None:
        sc = [L_conv(prefix + ".downsample.0", block.downsample[0]), L_bn(prefix + ".downsample.1", block.downsample[1])]
    return {"pre": [], "body": body, "shortcut": sc, "shortcutFrom": "input", "post": [RELU]}


def cifar(option, widths=(4, 8, 16), n=1, alpha=1.0, beta=1.0):
    net = nn.Module()
    net.conv1, net.bn1 = conv(3, widths[0], 3, 1, 1), bn(widths[0])
    units = []
    cin = widths[0]
    for k, w in enumerate(widths):
        layer = nn.Sequential(*[CifarBlock(cin if i == 0 else w, w, 2 if (k > 0 and i == 0) else 1, option) for i in range(n)])
        setattr(net, f"layer{k + 1}", layer)
        for i in range(n):
            units.append((f"layer{k + 1}.{i}", layer[i], k + 1, i))
        cin = w
    net.linear = nn.Linear(widths[-1], 10)
    stem = [L_conv("conv1", net.conv1), L_bn("bn1", net.bn1), RELU]
    head = [{"op": "avgpool"}, {"op": "linear", "key": "linear"}]
    return net, units, (lambda s, x: F.relu(s.bn1(s.conv1(x)))), stem, (lambda s, h: s.linear(h.mean(dim=(2, 3)))), head


def preact(widths=(4, 8, 8, 16), n=1):
    net = nn.Module()
    net.conv1 = conv(3, widths[0], 3, 1, 1)
    units = []
    cin = widths[0]
    for k, w in enumerate(widths):
        layer = nn.Sequential(*[PreActBlock(cin if i == 0 else w, w, 2 if (k > 0 and i == 0) else 1) for i in range(n)])
        setattr(net, f"layer{k + 1}", layer)
        for i in range(n):
            units.append((f"layer{k + 1}.{i}", layer[i], k + 1, i))
        cin = w
    net.bn = bn(widths[-1])
    net.linear = nn.Linear(widths[-1], 10)
    stem = [L_conv("conv1", net.conv1)]
    head = [L_bn("bn", net.bn), RELU, {"op": "avgpool"}, {"op": "linear", "key": "linear"}]
    return net, units, (lambda s, x: s.conv1(x)), stem, (lambda s, h: s.linear(F.relu(s.bn(h)).mean(dim=(2, 3)))), head


def wrn(widths=(4, 8, 16), n=2):
    net = nn.Module()
    net.conv1 = conv(3, 4, 3, 1, 1)
    units = []
    cin = 4
    for k, w in enumerate(widths):
        block = nn.Module()
        block.layer = nn.Sequential(*[PreActBlock(cin if i == 0 else w, w, 2 if (k > 0 and i == 0) else 1, wrn=True) for i in range(n)])
        setattr(net, f"block{k + 1}", block)
        for i in range(n):
            units.append((f"block{k + 1}.layer.{i}", block.layer[i], k + 1, i))
        cin = w
    net.bn1 = bn(widths[-1])
    net.fc = nn.Linear(widths[-1], 10)
    stem = [L_conv("conv1", net.conv1)]
    head = [L_bn("bn1", net.bn1), RELU, {"op": "avgpool"}, {"op": "linear", "key": "fc"}]
    return net, units, (lambda s, x: s.conv1(x)), stem, (lambda s, h: s.fc(F.relu(s.bn1(h)).mean(dim=(2, 3)))), head


def torchvision(bottleneck, widths=(4, 8, 8, 16), n=1):
    net = nn.Module()
    net.conv1, net.bn1 = conv(3, 4, 7, 2, 3), bn(4)
    units = []
    cin = 4
    for k, w in enumerate(widths):
        blocks = []
        for i in range(n):
            stride = 2 if (k > 0 and i == 0) else 1
            blocks.append(TvBottleneck(cin, w, stride) if bottleneck else TvBasic(cin, w, stride))
            cin = w * 4 if bottleneck else w
        layer = nn.Sequential(*blocks)
        setattr(net, f"layer{k + 1}", layer)
        for i in range(n):
            units.append((f"layer{k + 1}.{i}", layer[i], k + 1, i))
    net.fc = nn.Linear(cin, 10)
    stem = [L_conv("conv1", net.conv1), L_bn("bn1", net.bn1), RELU, {"op": "maxpool", "kernel": 3, "stride": 2, "padding": 1}]
    head = [{"op": "avgpool"}, {"op": "linear", "key": "fc"}]
    stem_fn = lambda s, x: F.max_pool2d(F.relu(s.bn1(s.conv1(x))), 3, 2, 1)
    return net, units, stem_fn, stem, (lambda s, h: s.fc(h.mean(dim=(2, 3)))), head


# ---------------------------------------------------------------------------------------------------

def unit_record(units, index, x_unit, full, topk):
    prefix, block, stage, i = units[index]
    fn = lambda v: block(v.unsqueeze(0)).squeeze(0)
    x0 = x_unit.squeeze(0).detach()
    y0 = fn(x0).detach()
    v = torch.randn_like(x0)
    u = torch.randn_like(y0)
    _, jv = torch.autograd.functional.jvp(fn, x0, v)
    _, jtu = torch.autograd.functional.vjp(fn, x0, u)
    rec = {"unit": index, "label": f"{stage}.{i + 1}", "rows": y0.numel(), "columns": x0.numel(),
           "v": b64(v, np.float64), "u": b64(u, np.float64), "jv": b64(jv, np.float64), "jtu": b64(jtu, np.float64)}
    if full:
        J = torch.autograd.functional.jacobian(fn, x0).reshape(y0.numel(), x0.numel())
        rec["singularValues"] = b64(torch.linalg.svdvals(J), np.float64)
    if topk:
        m, n = y0.numel(), x0.numel()
        mv = lambda z: torch.autograd.functional.jvp(fn, x0, torch.from_numpy(np.asarray(z).reshape(x0.shape).copy()))[1].reshape(-1).numpy()
        rmv = lambda z: torch.autograd.functional.vjp(fn, x0, torch.from_numpy(np.asarray(z).reshape(y0.shape).copy()))[1].reshape(-1).numpy()
        op = sla.LinearOperator((m, n), matvec=mv, rmatvec=rmv, dtype=np.float64)
        s = sla.svds(op, k=topk, tol=1e-13, which="LM", return_singular_vectors=False, random_state=np.random.RandomState(SEED))
        rec["topSingularValues"] = base64.b64encode(np.sort(s)[::-1].astype("<f8").tobytes()).decode("ascii")
    return rec


def family(name, built, size, alpha, beta, picks):
    module, units, stem_fn, stem, head_fn, head = built
    randomize(module)
    module.eval()
    module.float()  # every parameter and statistic a float32 number, as the fixture stores them
    module.double()
    for _, block, _, _ in units:
        block.alpha, block.beta = alpha, beta
    x = torch.randn(1, 3, size, size).float().double()  # float32-representable

    def forward(inp, tr):
        h = stem_fn(module, inp)
        for _, block, _, _ in units:
            tr.append(h)
            h = block(h)
        tr.append(h)
        return head_fn(module, h)
    trace = []
    with torch.no_grad():
        logits = forward(x, trace)
    state = {k: v for k, v in module.state_dict().items() if not k.endswith("num_batches_tracked")}
    graph_units = []
    for idx, (prefix, block, stage, i) in enumerate(units):
        g = unit_layers(prefix, block)
        g.update({"stage": stage, "indexInStage": i, "source": prefix,
                  "inShape": list(trace[idx].shape[1:]), "outShape": list(trace[idx + 1].shape[1:])})
        graph_units.append(g)
    records = [unit_record(units, index, trace[index], full, topk) for index, full, topk in picks]
    return {
        "name": name, "alpha": alpha, "beta": beta, "inputShape": [3, size, size],
        "weights": {k: {"shape": list(v.shape), "f32": b64(v.float(), np.float32)} for k, v in state.items()},
        "stem": stem, "units": graph_units, "head": head,
        "input": b64(x, np.float64), "logits": b64(logits, np.float64),
        "unitInputs": [b64(t, np.float64) for t in trace],
        "records": records,
    }


def main():
    torch.set_default_dtype(torch.float64)
    out = {
        "generator": f"scripts/make-graph-fixtures.py, torch {torch.__version__}, scipy {scipy.__version__}, float64, seed {SEED}",
        "families": [
            family("cifar-a", cifar("A"), 16, 0.8, 1.2, [(1, True, 0)]),
            family("cifar-b", cifar("B"), 16, 1.0, 1.0, [(1, True, 0), (0, False, 6)]),
            family("preact", preact(), 16, 1.0, 1.0, [(1, True, 0), (0, False, 6)]),
            family("wrn", wrn(), 16, 0.9, 1.1, [(2, True, 0), (3, True, 0)]),
            family("tv-basic", torchvision(False), 32, 1.0, 1.0, [(1, True, 0), (0, False, 6)]),
            family("tv-bottleneck", torchvision(True), 32, 1.0, 1.0, [(1, True, 0)]),
        ],
    }
    path = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "graph-units-pytorch.json")
    with open(path, "w") as f:
        json.dump(out, f, separators=(",", ":"))
    print(path, os.path.getsize(path), "bytes")


# ---------------------------------------------------------------------------------------------------
# --study: test/fixtures/graph-study-pytorch.json, the references of the studies (src/study/stage.ts,
# propagation.ts, perturbations.ts, first-order.ts, projection.ts, scaling.ts; test/graph-study.test.ts)
# for one network per family (alpha = beta = 1, their own seed, graph-units-pytorch.json untouched):
# pixels in [0, 1] normalized with the families' mean/std, and
#   stage       all singular values of the Jacobian of stage 2 (the product of its units)
#   fgsm        FGSM (L-infinity, eps) at `label`: pixel gradient of the cross-entropy in float64,
#               x~ = clip(x + eps sign(g), 0, 1) rounded to float32 (as the package stores images),
#               the predictions, ||h~_k - h_k|| / ||h_k|| after the stem and every unit ("relative"),
#               and the same ratio for the first-order prediction J_{stem..k} (x~ - x) ("firstOrder")
#   projection  per unit, the perturbation entering it (h~ - h before the unit) projected on the top
#               PROJECT_K right singular vectors of the unit's Jacobian: energy fraction and
#               amplification sum s_i^2 <v_i, dh>^2 / ||dh||^2
#   scale       a labelled set of random byte images; for beta = each value in unit SCALE_UNIT only,
#               every image's float64 logits and all singular values of that unit at image 0

STUDY_SEED = 2222
MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]
EPS = 0.01
LABEL = 3
PROJECT_K = 3
SCALE_UNIT = 1
SCALE_VALUES = [0.5, 1.5]
SCALE_IMAGES = 6


def study_family(name, built, size):
    module, units, stem_fn, stem, head_fn, head = built
    randomize(module)
    module.eval()
    module.float()
    module.double()
    for _, block, _, _ in units:
        block.alpha, block.beta = 1.0, 1.0
    mean = torch.tensor(MEAN, dtype=torch.float32).double().view(1, 3, 1, 1)
    std = torch.tensor(STD, dtype=torch.float32).double().view(1, 3, 1, 1)

    def states(pixels):
        """Logits and the states after the stem and after every unit, of pixels in [0, 1]."""
        h = stem_fn(module, (pixels - mean) / std)
        out = [h]
        for _, block, _, _ in units:
            h = block(h)
            out.append(h)
        return head_fn(module, h), out

    pixels = torch.rand(1, 3, size, size, dtype=torch.float32).double()
    x = pixels.clone().requires_grad_(True)
    logits, _ = states(x)
    loss = F.cross_entropy(logits, torch.tensor([LABEL]))
    (grad,) = torch.autograd.grad(loss, x)
    adv = (pixels + EPS * torch.sign(grad)).clamp(0, 1).float().double()
    with torch.no_grad():
        logits, clean = states(pixels)
        adv_logits, noisy = states(adv)
    relative = [float((a - c).norm() / c.norm()) for a, c in zip(noisy, clean)]
    dx = adv - pixels
    _, jvps = torch.autograd.functional.jvp(lambda p: tuple(states(p)[1]), pixels, dx)
    first_order = [float(j.norm() / c.norm()) for j, c in zip(jvps, clean)]

    def unit_fn(block):
        return lambda v: block(v.unsqueeze(0)).squeeze(0)

    projection = []
    for k, (_, block, _, _) in enumerate(units):
        h = clean[k].squeeze(0).detach()
        J = torch.autograd.functional.jacobian(unit_fn(block), h).reshape(clean[k + 1].numel(), h.numel())
        _, s, vh = torch.linalg.svd(J)
        dh = (noisy[k] - clean[k]).reshape(-1)
        dots = vh[:PROJECT_K] @ dh
        n2 = float(dh @ dh)
        projection.append({"unit": k, "fraction": float((dots ** 2).sum()) / n2,
                           "amplification": float((s[:PROJECT_K] ** 2 * dots ** 2).sum()) / n2})

    stage_units = [k for k, (_, _, st, _) in enumerate(units) if st == 2]
    first, last = stage_units[0], stage_units[-1]

    def stage_fn(v):
        h = v.unsqueeze(0)
        for k in range(first, last + 1):
            h = units[k][1](h)
        return h.squeeze(0)
    hs = clean[first].squeeze(0).detach()
    Js = torch.autograd.functional.jacobian(stage_fn, hs).reshape(clean[last + 1].numel(), hs.numel())

    images = torch.randint(0, 256, (SCALE_IMAGES, 3, size, size), dtype=torch.uint8)
    labels = torch.randint(0, 10, (SCALE_IMAGES,))
    scaled_pixels = (images.double() / 255).float().double()
    scale = []
    for value in SCALE_VALUES:
        units[SCALE_UNIT][1].beta = value
        with torch.no_grad():
            z, hs_scaled = states(scaled_pixels)
        h0 = hs_scaled[SCALE_UNIT][0].detach()
        J = torch.autograd.functional.jacobian(unit_fn(units[SCALE_UNIT][1]), h0).reshape(hs_scaled[SCALE_UNIT + 1][0].numel(), h0.numel())
        scale.append({"value": value, "logits": b64(z, np.float64), "singularValues": b64(torch.linalg.svdvals(J), np.float64)})
        units[SCALE_UNIT][1].beta = 1.0

    state = {k: v for k, v in module.state_dict().items() if not k.endswith("num_batches_tracked")}
    graph_units = []
    for idx, (prefix, block, stage, i) in enumerate(units):
        g = unit_layers(prefix, block)
        g.update({"stage": stage, "indexInStage": i, "source": prefix,
                  "inShape": list(clean[idx].shape[1:]), "outShape": list(clean[idx + 1].shape[1:])})
        graph_units.append(g)
    return {
        "name": name, "alpha": 1.0, "beta": 1.0, "inputShape": [3, size, size],
        "weights": {k: {"shape": list(v.shape), "f32": b64(v.float(), np.float32)} for k, v in state.items()},
        "stem": stem, "units": graph_units, "head": head,
        "normalization": {"mean": MEAN, "std": STD},
        "pixels": b64(pixels, np.float32), "label": LABEL, "logits": b64(logits, np.float64),
        "stage": {"stage": 2, "rows": Js.shape[0], "columns": Js.shape[1], "singularValues": b64(torch.linalg.svdvals(Js), np.float64)},
        "fgsm": {"eps": EPS, "perturbed": b64(adv, np.float32), "predClean": int(logits.argmax()), "predPerturbed": int(adv_logits.argmax()),
                 "relative": relative, "firstOrder": first_order},
        "projection": {"k": PROJECT_K, "attack": "fgsm", "rows": projection},
        "scale": {"parameter": "beta", "unit": SCALE_UNIT, "values": SCALE_VALUES, "images": b64(images, np.uint8),
                  "labels": [int(v) for v in labels], "results": scale},
    }


def study():
    torch.set_default_dtype(torch.float64)
    torch.manual_seed(STUDY_SEED)
    np.random.seed(STUDY_SEED)
    out = {
        "generator": f"scripts/make-graph-fixtures.py --study, torch {torch.__version__}, float64, seed {STUDY_SEED}",
        "families": [
            study_family("cifar-a", cifar("A", n=2), 16),
            study_family("cifar-b", cifar("B", n=2), 16),
            study_family("preact", preact(n=2), 16),
            study_family("wrn", wrn(), 16),
            study_family("tv-basic", torchvision(False, n=2), 32),
            study_family("tv-bottleneck", torchvision(True), 32),
        ],
    }
    path = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "graph-study-pytorch.json")
    with open(path, "w") as f:
        json.dump(out, f, separators=(",", ":"))
    print(path, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    import sys
    if sys.argv[1:] == ["--study"]:
        study()
    else:
        main()
