"""PyTorch peer for the benchmarks (never used by the package or its tests).

The CIFAR ResNet of ../shared/README.md (option-A shortcuts, eval-mode BN), loaded from a checkpoint,
and helpers shared by the bench_*.py scripts. Run with Debian's python3 (`/usr/bin/python3`), which has
python3-torch and python3-numpy.
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


class Unit(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.pad = (cout - cin) // 2
        self.alpha = 1.0

    def shortcut(self, x):
        if self.pad == 0:
            return x
        return F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(self.alpha * self.shortcut(x) + out)


class ResNet(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        layers = []
        cin = 16
        for stage, cout in enumerate((16, 32, 64)):
            units = []
            for i in range(n):
                units.append(Unit(cin, cout, 2 if stage > 0 and i == 0 else 1))
                cin = cout
            layers.append(nn.Sequential(*units))
        self.layer1, self.layer2, self.layer3 = layers
        self.linear = nn.Linear(64, 10)

    def units(self):
        return [*self.layer1, *self.layer2, *self.layer3]

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        h = self.layer3(self.layer2(self.layer1(h)))
        return self.linear(F.adaptive_avg_pool2d(h, 1).flatten(1))


def load(path):
    state = torch.load(path, map_location="cpu")
    state = state.get("state_dict", state)
    state = {k.replace("module.", ""): v for k, v in state.items() if "num_batches_tracked" not in k}
    n = 1 + max(int(k.split(".")[1]) for k in state if k.startswith("layer1."))
    model = ResNet(n)
    model.load_state_dict(state)
    return model.eval()


def cifar_images(path, count):
    """First `count` test images as normalized float32 NCHW and their labels."""
    raw = np.fromfile(path, dtype=np.uint8, count=count * 3073).reshape(count, 3073)
    labels = raw[:, 0].astype(np.int64)
    x = raw[:, 1:].reshape(count, 3, 32, 32).astype(np.float32) / 255.0
    x = (x - np.array(MEAN, np.float32)[None, :, None, None]) / np.array(STD, np.float32)[None, :, None, None]
    return torch.from_numpy(x), torch.from_numpy(labels)
