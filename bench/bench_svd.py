"""NumPy/LAPACK peer for bench/svd.ts: singular values of random matrices, and PyTorch's end-to-end
stage-1 unit spectrum (autograd Jacobian + svdvals). Prints one JSON line."""
import json, sys, time


def numpy_values(n, runs, seed):
    import numpy as np
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n, n))
    np.linalg.svd(a[:256, :256], compute_uv=False)  # untimed: loads LAPACK and starts its threads
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        np.linalg.svd(a, compute_uv=False)
        times.append(time.perf_counter() - start)
    return {"seconds": times, "threadpool": blas_threads()}


def blas_threads():
    """The BLAS and its thread count (threadpoolctl when installed, else the environment's request)."""
    import os
    try:
        from threadpoolctl import threadpool_info
        return [(i.get("internal_api"), i.get("num_threads"), i.get("architecture")) for i in threadpool_info()]
    except ImportError:
        import numpy as np
        blas = getattr(np.__config__, "blas_opt_info", {}).get("libraries", "?")
        lib = os.path.realpath("/usr/lib/x86_64-linux-gnu/libblas.so.3")
        return [("threadpoolctl not installed", blas, lib, "OPENBLAS_NUM_THREADS=" + str(os.environ.get("OPENBLAS_NUM_THREADS")))]


def torch_unit_spectrum(checkpoint, data, image, unit):
    import numpy as np
    import torch
    from torch_resnet import load, cifar_images
    torch.set_num_threads(2)
    model = load(checkpoint).double()
    x, _ = cifar_images(data, image + 1)
    x = x[image:image + 1].double()
    units = model.units()
    start = time.perf_counter()
    with torch.no_grad():
        h = torch.relu(model.bn1(model.conv1(x)))
        for u in units[:unit]:
            h = u(h)
    f = lambda v: units[unit](v.reshape(h.shape)).reshape(-1)
    jac = torch.autograd.functional.jacobian(f, h.reshape(-1), vectorize=True)
    t_jac = time.perf_counter() - start
    values = torch.linalg.svdvals(jac)
    total = time.perf_counter() - start
    return {"jacobianSeconds": t_jac, "seconds": total, "smax": float(values[0]), "count": int(values.numel())}


if __name__ == "__main__":
    what = sys.argv[1]
    if what == "values":
        print(json.dumps(numpy_values(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))))
    elif what == "unit":
        print(json.dumps(torch_unit_spectrum(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))))
