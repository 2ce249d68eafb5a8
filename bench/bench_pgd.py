"""PyTorch peer of `propagate --attack pgd`: PGD (L-infinity, random start, `steps` steps of
2.5*eps/steps) on the first `count` images, then clean and perturbed trajectories and the relative
perturbation after the stem and every unit. 2 threads. Prints one JSON line with the wall time."""
import json, sys, time
import torch
import torch.nn.functional as F
from torch_resnet import load, cifar_images, MEAN, STD

checkpoint, data, count, eps, steps = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
torch.set_num_threads(2)
torch.manual_seed(0)
model = load(checkpoint)
x_norm, labels = cifar_images(data, count)
mean = torch.tensor(MEAN).view(1, 3, 1, 1)
std = torch.tensor(STD).view(1, 3, 1, 1)
pixels = x_norm * std + mean


def logits(p):
    return model((p - mean) / std)


def states(p):
    h = F.relu(model.bn1(model.conv1((p - mean) / std)))
    out = [h]
    for u in model.units():
        h = u(h)
        out.append(h)
    return out


start = time.perf_counter()
step = 2.5 * eps / steps
x = (pixels + eps * (2 * torch.rand_like(pixels) - 1)).clamp(0, 1)
for _ in range(steps):
    x.requires_grad_(True)
    loss = F.cross_entropy(logits(x), labels)
    (grad,) = torch.autograd.grad(loss, x)
    with torch.no_grad():
        x = torch.min(torch.max(x + step * grad.sign(), pixels - eps), pixels + eps).clamp(0, 1)
with torch.no_grad():
    clean, noisy = states(pixels), states(x)
    rel = [((b - a).flatten(1).norm(dim=1) / a.flatten(1).norm(dim=1)) for a, b in zip(clean, noisy)]
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "lastUnitMean": float(rel[-1].mean())}))
