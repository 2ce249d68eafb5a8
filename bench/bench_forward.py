"""Forward throughput of PyTorch for CPU (2 threads), printed as JSON: images per second, median of runs."""
import json, sys, time
import torch
from torch_resnet import load, cifar_images

checkpoint, data, count, batch, runs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
torch.set_num_threads(2)
model = load(checkpoint)
x, _ = cifar_images(data, count)
times = []
with torch.no_grad():
    model(x[:batch])  # warm-up
    for _ in range(runs):
        start = time.perf_counter()
        for i in range(0, count, batch):
            model(x[i:i + batch])
        times.append(time.perf_counter() - start)
times.sort()
print(json.dumps({"imagesPerSecond": count / times[len(times) // 2], "seconds": times, "torch": torch.__version__}))
