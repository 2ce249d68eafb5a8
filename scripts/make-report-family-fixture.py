#!/usr/bin/python3
"""PyTorch float64 references for `report --preset test` on the WRN-16 family fixture (issue 11).

Reads test/fixtures/families/wrn.pt (written by make-family-checkpoints.py: WRN-16 of widths 8-16-32,
two units per stage, random weights and BN statistics) into that script's plain torch.nn WideResNet,
in float64, and computes what the report's test preset measures, independently of the package:

- the unit of the plan: 3.2 (0-based index 5, the second unit of the last stage), its input at CIFAR-10
  sample images 0 and 1 (pixels / 255 normalized with the package's default mean/std), and all singular
  values of its Jacobian (torch.autograd.functional.jacobian + torch.linalg.svdvals) at both images
  unscaled, and at image 0 with alpha = 0.5 and with beta = 0.5 in that unit only;
- top-1 correct counts on the first 100 sample images of the unscaled network and of the network with
  alpha or beta set to 0.5 or 1.5 in unit 3.2 only or in every unit, with the smallest margin between the
  two largest logits over those images (so that a test can see that float32 cannot flip a prediction).

A unit computes alpha * shortcut + body with every body conv weight times beta (the shortcut reads the
pre-activated input where it is a 1x1 conv, the raw input where it is the identity), as in
src/model/graph.ts. Also, for `report --preset quick` on the four-stage pre-activation fixture
(families/preact-bn.pt, stages of 2, 1, 1, 1 units, `module.` prefix): all singular values of units 4.1
at images 0 and 1 and 3.1 at image 0 (pytorch-cifar's PreActBlock as the unit, unscaled).
Arrays are base64 of little-endian float64.
Writes test/fixtures/families/report-wrn-pytorch.json. Run: /usr/bin/python3 scripts/make-report-family-fixture.py
"""
import base64
import importlib.util
import json
import os

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location('families', os.path.join(HERE, 'make-family-checkpoints.py'))
families = importlib.util.module_from_spec(spec)
spec.loader.exec_module(families)

OUT = 'test/fixtures/families/report-wrn-pytorch.json'
UNIT = 5  # 3.2
ACCURACY_IMAGES = 100


def b64(a):
    return base64.b64encode(np.asarray(a, dtype='<f8').tobytes()).decode('ascii')


def load():
    model = families.WideResNet(4, [8, 16, 32], 2, 10)
    model.load_state_dict(torch.load('test/fixtures/families/wrn.pt'))
    return model.double().eval()


def blocks(model):
    return [b for stage in (model.block1, model.block2, model.block3) for b in stage.layer]


def bn(layer, x):
    return F.batch_norm(x, layer.running_mean, layer.running_var, layer.weight, layer.bias, False, 0.0, layer.eps)


def unit(block, x, alpha, beta):
    """One WRN unit with the skip scale alpha and the body conv weights times beta."""
    p = F.relu(bn(block.bn1, x))
    out = F.relu(bn(block.bn2, F.conv2d(p, beta * block.conv1.weight, None, block.conv1.stride, block.conv1.padding)))
    out = F.conv2d(out, beta * block.conv2.weight, None, 1, 1)
    shortcut = x if block.equal else block.convShortcut(p)
    return alpha * shortcut + out


def forward(model, x, alphas, betas, stop=None):
    """Logits, or the input of unit `stop`."""
    h = model.conv1(x)
    for i, block in enumerate(blocks(model)):
        if i == stop:
            return h
        h = unit(block, h, alphas[i], betas[i])
    h = F.relu(bn(model.bn1, h))
    return model.fc(h.mean((2, 3)))


def images(indices):
    raw = np.fromfile(families.SAMPLE, dtype=np.uint8).reshape(-1, 3073)
    pixels = torch.from_numpy(raw[indices, 1:].reshape(-1, 3, 32, 32).astype(np.float64) / 255)
    mean = torch.tensor(families.MEAN, dtype=torch.float64).view(1, 3, 1, 1)
    std = torch.tensor(families.STD, dtype=torch.float64).view(1, 3, 1, 1)
    return (pixels - mean) / std, raw[indices, 0].astype(np.int64)


def spectrum(model, image, alpha, beta):
    ones = [1.0] * 6
    x, _ = images([image])
    with torch.no_grad():
        h = forward(model, x, ones, ones, stop=UNIT)
    block = blocks(model)[UNIT]
    shape = h.shape
    jac = torch.autograd.functional.jacobian(lambda v: unit(block, v.view(shape), alpha, beta).reshape(-1), h.reshape(-1))
    return torch.linalg.svdvals(jac).numpy(), list(jac.shape)


def accuracy(model, alphas, betas):
    x, labels = images(list(range(ACCURACY_IMAGES)))
    with torch.no_grad():
        logits = forward(model, x, alphas, betas).numpy()
    top = np.sort(logits, axis=1)
    return int((logits.argmax(1) == labels).sum()), float((top[:, -1] - top[:, -2]).min())


def preact_spectra():
    model = families.PreActResNet([4, 8, 16, 32], [2, 1, 1, 1], 10, True)
    state = torch.load('test/fixtures/families/preact-bn.pt')
    model.load_state_dict({k[len('module.'):]: v for k, v in state.items()})
    model = model.double().eval()
    units = [b for s in range(model.stages) for b in getattr(model, f'layer{s + 1}')]
    out = []
    for index, label, image in [(4, '4.1', 0), (4, '4.1', 1), (3, '3.1', 0)]:
        x, _ = images([image])
        with torch.no_grad():
            h = model.conv1(x)
            for block in units[:index]:
                h = block(h)
        shape = h.shape
        jac = torch.autograd.functional.jacobian(lambda v: units[index](v.view(shape)).reshape(-1), h.reshape(-1))
        out.append({'unit': index, 'label': label, 'image': image, 'shape': list(jac.shape), 'values': b64(torch.linalg.svdvals(jac).numpy())})
    return out


def main():
    torch.manual_seed(0)
    model = load()
    spectra = []
    for image, alpha, beta in [(0, 1.0, 1.0), (1, 1.0, 1.0), (0, 0.5, 1.0), (0, 1.0, 0.5)]:
        values, shape = spectrum(model, image, alpha, beta)
        spectra.append({'unit': UNIT, 'label': '3.2', 'image': image, 'alpha': alpha, 'beta': beta, 'shape': shape, 'values': b64(values)})
    rows = []
    for parameter in ('none', 'alpha', 'beta'):
        for scope in (('network',) if parameter == 'none' else ('unit', 'network')):
            for value in ((1.0,) if parameter == 'none' else (0.5, 1.5)):
                scales = [1.0] * 6
                if scope == 'unit':
                    scales[UNIT] = value
                else:
                    scales = [value] * 6
                alphas = scales if parameter == 'alpha' else [1.0] * 6
                betas = scales if parameter == 'beta' else [1.0] * 6
                correct, margin = accuracy(model, alphas, betas)
                rows.append({'parameter': parameter, 'scope': scope, 'value': value, 'images': ACCURACY_IMAGES, 'correct': correct, 'smallestMargin': margin})
    with open(OUT, 'w') as f:
        json.dump({'generator': 'scripts/make-report-family-fixture.py', 'torch': torch.__version__, 'model': 'test/fixtures/families/wrn.pt',
                   'normalization': {'mean': families.MEAN, 'std': families.STD}, 'spectra': spectra, 'accuracy': rows,
                   'preactQuick': {'model': 'test/fixtures/families/preact-bn.pt', 'spectra': preact_spectra()}}, f, indent=1)
        f.write('\n')


if __name__ == '__main__':
    main()
