#!/usr/bin/python3
"""Tiny checkpoints of every residual-network family of issue 11, with PyTorch's float64 logits.

Writes test/fixtures/families/: one state dict per family and naming (plain torch.nn modules that use
exactly the key names of the code each family comes from), seeded random weights and randomized
batch-norm statistics, small widths so that everything stays small; one in PyTorch's legacy format,
one as .safetensors (written here by hand: 8-byte little-endian header length, JSON header, raw
little-endian tensors); and families.json with, per checkpoint, the family, what the recogniser must
report, and the float64 logits of CIFAR-10 sample images 0-2 normalized with the package's default
mean/std.

Run with /usr/bin/python3 (torch) from the repository root: python3 scripts/make-family-checkpoints.py
"""
import json
import os
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = 'test/fixtures/families'
SAMPLE = 'data/cifar10-sample/test_batch_1000.bin'
MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]
IMAGES = [0, 1, 2]


class LambdaLayer(nn.Module):
    def __init__(self, f):
        super().__init__()
        self.f = f

    def forward(self, x):
        return self.f(x)


class CifarBlock(nn.Module):
    """The CIFAR ResNet block (post-activation), option A (zero-pad) or B (1x1 conv + BN) shortcut."""

    def __init__(self, cin, cout, stride, option):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            if option == 'A':
                pad = (cout - cin) // 2
                self.shortcut = LambdaLayer(lambda x: F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, pad, pad)))
            else:
                self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class CifarResNet(nn.Module):
    def __init__(self, widths, n, option, classes):
        super().__init__()
        self.conv1 = nn.Conv2d(3, widths[0], 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        cin = widths[0]
        for s, w in enumerate(widths):
            blocks = []
            for i in range(n):
                blocks.append(CifarBlock(cin, w, 2 if s > 0 and i == 0 else 1, option))
                cin = w
            setattr(self, f'layer{s + 1}', nn.Sequential(*blocks))
        self.stages = len(widths)
        self.linear = nn.Linear(cin, classes)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        for s in range(self.stages):
            out = getattr(self, f'layer{s + 1}')(out)
        return self.linear(out.mean((2, 3)))


class PreActBlock(nn.Module):
    """pytorch-cifar's PreActBlock."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False))

    def forward(self, x):
        out = F.relu(self.bn1(x))
        shortcut = self.shortcut(out) if hasattr(self, 'shortcut') else x
        out = self.conv1(out)
        out = self.conv2(F.relu(self.bn2(out)))
        return out + shortcut


class PreActResNet(nn.Module):
    """pytorch-cifar's PreActResNet; final_bn adds the robustness benchmarks' `bn` + ReLU."""

    def __init__(self, widths, units, classes, final_bn):
        super().__init__()
        self.conv1 = nn.Conv2d(3, widths[0], 3, 1, 1, bias=False)
        cin = widths[0]
        for s, (w, n) in enumerate(zip(widths, units)):
            blocks = []
            for i in range(n):
                blocks.append(PreActBlock(cin, w, 2 if s > 0 and i == 0 else 1))
                cin = w
            setattr(self, f'layer{s + 1}', nn.Sequential(*blocks))
        self.stages = len(widths)
        self.final_bn = final_bn
        if final_bn:
            self.bn = nn.BatchNorm2d(cin)
        self.linear = nn.Linear(cin, classes)

    def forward(self, x):
        out = self.conv1(x)
        for s in range(self.stages):
            out = getattr(self, f'layer{s + 1}')(out)
        if self.final_bn:
            out = F.relu(self.bn(out))
        return self.linear(out.mean((2, 3)))


class WideBlock(nn.Module):
    """The common WRN BasicBlock (dropout omitted: the identity at inference)."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.equal = cin == cout
        self.convShortcut = None if self.equal else nn.Conv2d(cin, cout, 1, stride, 0, bias=False)

    def forward(self, x):
        if not self.equal:
            x = F.relu(self.bn1(x))
            out = x
        else:
            out = F.relu(self.bn1(x))
        out = F.relu(self.bn2(self.conv1(out)))
        out = self.conv2(out)
        return (x if self.equal else self.convShortcut(x)) + out


class NetworkBlock(nn.Module):
    def __init__(self, n, cin, cout, stride):
        super().__init__()
        self.layer = nn.Sequential(*[WideBlock(cin if i == 0 else cout, cout, stride if i == 0 else 1) for i in range(n)])

    def forward(self, x):
        return self.layer(x)


class WideResNet(nn.Module):
    def __init__(self, stem, widths, n, classes):
        super().__init__()
        self.conv1 = nn.Conv2d(3, stem, 3, 1, 1, bias=False)
        self.block1 = NetworkBlock(n, stem, widths[0], 1)
        self.block2 = NetworkBlock(n, widths[0], widths[1], 2)
        self.block3 = NetworkBlock(n, widths[1], widths[2], 2)
        self.bn1 = nn.BatchNorm2d(widths[2])
        self.fc = nn.Linear(widths[2], classes)

    def forward(self, x):
        out = self.block3(self.block2(self.block1(self.conv1(x))))
        out = F.relu(self.bn1(out))
        return self.fc(out.mean((2, 3)))


class TvBasic(nn.Module):
    expansion = 1

    def __init__(self, cin, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or cin != planes:
            self.downsample = nn.Sequential(nn.Conv2d(cin, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + (x if self.downsample is None else self.downsample(x)))


class TvBottleneck(nn.Module):
    """torchvision's Bottleneck (v1.5: the stride on the 3x3 conv)."""
    expansion = 4

    def __init__(self, cin, planes, stride):
        super().__init__()
        out = planes * 4
        self.conv1 = nn.Conv2d(cin, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out)
        self.downsample = None
        if stride != 1 or cin != out:
            self.downsample = nn.Sequential(nn.Conv2d(cin, out, 1, stride, bias=False), nn.BatchNorm2d(out))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return F.relu(out + (x if self.downsample is None else self.downsample(x)))


class TvResNet(nn.Module):
    def __init__(self, block, stem, planes, units, classes):
        super().__init__()
        self.conv1 = nn.Conv2d(3, stem, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(stem)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        cin = stem
        for s, (p, n) in enumerate(zip(planes, units)):
            blocks = []
            for i in range(n):
                blocks.append(block(cin, p, 2 if s > 0 and i == 0 else 1))
                cin = p * block.expansion
            setattr(self, f'layer{s + 1}', nn.Sequential(*blocks))
        self.stages = len(planes)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        out = self.maxpool(F.relu(self.bn1(self.conv1(x))))
        for s in range(self.stages):
            out = getattr(self, f'layer{s + 1}')(out)
        return self.fc(out.mean((2, 3)))


def randomize(model):
    """Random weights and batch-norm statistics far from the identity, so that BN matters."""
    g = torch.Generator().manual_seed(1109)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            m.weight.data = 0.5 + torch.rand(c, generator=g)
            m.bias.data = 0.2 * torch.randn(c, generator=g)
            m.running_mean.data = 0.2 * torch.randn(c, generator=g)
            m.running_var.data = 0.5 + torch.rand(c, generator=g)
            m.num_batches_tracked.fill_(7)
        elif isinstance(m, (nn.Conv2d, nn.Linear)):
            fan_in = m.weight[0].numel()
            m.weight.data = torch.randn(m.weight.shape, generator=g) * (1.5 / fan_in) ** 0.5
            if m.bias is not None:
                m.bias.data = 0.1 * torch.randn(m.bias.shape, generator=g)
    return model.eval()


def images():
    raw = np.fromfile(SAMPLE, dtype=np.uint8).reshape(-1, 3073)
    pixels = raw[IMAGES, 1:].reshape(-1, 3, 32, 32).astype(np.float64) / 255
    x = torch.from_numpy(pixels)
    return (x - torch.tensor(MEAN, dtype=torch.float64).view(1, 3, 1, 1)) / torch.tensor(STD, dtype=torch.float64).view(1, 3, 1, 1)


def write_safetensors(path, state):
    header, chunks, offset = {}, [], 0
    for key, t in state.items():
        data = t.detach().to(torch.float32).contiguous().numpy().astype('<f4').tobytes()
        header[key] = {'dtype': 'F32', 'shape': list(t.shape), 'data_offsets': [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    header['__metadata__'] = {'format': 'pt'}
    text = json.dumps(header, separators=(',', ':')).encode()
    text += b' ' * (-len(text) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)))
        f.write(text)
        for c in chunks:
            f.write(c)


def main():
    torch.manual_seed(1109)
    os.makedirs(OUT, exist_ok=True)
    x = images()
    cases = [
        # name, model, how saved, what the recogniser must report
        ('cifar-a', CifarResNet([4, 8, 16], 1, 'A', 10), 'zip',
         dict(family='cifar-resnet', depth=8, widths=[4, 8, 16], unitsPerStage=[1, 1, 1], shortcut='A', block='basic', classes=10)),
        ('cifar-b', CifarResNet([4, 8, 16], 2, 'B', 100), 'zip',
         dict(family='cifar-resnet', depth=14, widths=[4, 8, 16], unitsPerStage=[2, 2, 2], shortcut='B', block='basic', classes=100)),
        ('preact-bn', PreActResNet([4, 8, 16, 32], [2, 1, 1, 1], 10, True), 'zip',
         dict(family='preact-resnet', depth=12, widths=[4, 8, 16, 32], unitsPerStage=[2, 1, 1, 1], shortcut='conv', block='basic', classes=10)),
        ('preact-legacy', PreActResNet([4, 8, 16, 32], [1, 1, 1, 1], 10, False), 'legacy',
         dict(family='preact-resnet', depth=10, widths=[4, 8, 16, 32], unitsPerStage=[1, 1, 1, 1], shortcut='conv', block='basic', classes=10)),
        ('wrn', WideResNet(4, [8, 16, 32], 2, 10), 'zip',
         dict(family='wide-resnet', depth=16, widths=[8, 16, 32], unitsPerStage=[2, 2, 2], shortcut='conv', block='basic', classes=10)),
        ('tv-basic', TvResNet(TvBasic, 8, [8, 16, 32, 64], [2, 1, 1, 1], 10), 'zip',
         dict(family='torchvision-resnet', depth=12, widths=[8, 16, 32, 64], unitsPerStage=[2, 1, 1, 1], shortcut='B', block='basic', classes=10)),
        ('tv-bottleneck', TvResNet(TvBottleneck, 8, [4, 8, 8, 8], [2, 1, 1, 1], 10), 'safetensors',
         dict(family='torchvision-resnet', depth=17, widths=[16, 32, 32, 32], unitsPerStage=[2, 1, 1, 1], shortcut='B', block='bottleneck', classes=10)),
    ]
    index = {}
    for name, model, kind, expect in cases:
        randomize(model)
        state = model.state_dict()
        if name == 'preact-bn':
            # DataParallel's prefix, as many published checkpoints carry it.
            state = {'module.' + k: v for k, v in state.items()}
        if kind == 'zip':
            file = f'{name}.pt'
            torch.save(state, os.path.join(OUT, file))
        elif kind == 'legacy':
            file = f'{name}.pt'
            torch.save(state, os.path.join(OUT, file), _use_new_zipfile_serialization=False)
        else:
            file = f'{name}.safetensors'
            write_safetensors(os.path.join(OUT, file), {k: v for k, v in state.items() if not k.endswith('num_batches_tracked')})
        with torch.no_grad():
            m64 = model.double()
            # Weights rounded to float32 first, as the checkpoint stores them.
            logits = m64(x)
        index[name] = {'file': file, 'format': kind, 'expect': expect, 'images': IMAGES, 'logits': logits.tolist()}
    with open(os.path.join(OUT, 'families.json'), 'w') as f:
        json.dump({'generator': 'scripts/make-family-checkpoints.py', 'torch': torch.__version__,
                   'normalization': {'mean': MEAN, 'std': STD}, 'checkpoints': index}, f, indent=1)
        f.write('\n')


if __name__ == '__main__':
    main()
