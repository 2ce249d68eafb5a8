"""Writes test/fixtures/svd/lapack-values.json: singular values from LAPACK (NumPy's
np.linalg.svd(compute_uv=False), i.e. dgesdd) of integer-pattern matrices that the Node test rebuilds
exactly (every entry is an integer in [-1000, 1000] divided by 1000, one correctly rounded division in
both languages), so that only the values need storing.

    /usr/bin/python3 scripts/make-svd-fixture.py
"""
import json
import os

import numpy as np


def entry(i, j):
    # Integer arithmetic only, below 2^53 in JavaScript too.
    h = (i * 7919 + j * 104729 + i * j * 31 + ((i * i) % 97) * 13 + ((j * j * j) % 89) * 7) % 2001
    return (h - 1000) / 1000


def matrix(m, n):
    return np.array([[entry(i, j) for j in range(n)] for i in range(m)], dtype=np.float64)


# Shapes: square above the two-stage threshold; tall below the QR-first ratio (the band reduction of
# a non-square matrix); tall above it (QR, then the band reduction of R); large enough for threads.
SHAPES = [(200, 200), (300, 260), (700, 300), (600, 600)]

cases = []
for m, n in SHAPES:
    a = matrix(m, n)
    s = np.linalg.svd(a, compute_uv=False)
    cases.append({"rows": m, "cols": n, "frobeniusSquared": float(np.sum(a * a)), "values": [float(v) for v in s]})
    print(f"{m} x {n}: s_max {s[0]:.6g}, s_min {s[-1]:.6g}")

out = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "svd", "lapack-values.json")
with open(out, "w") as f:
    json.dump({"generator": "scripts/make-svd-fixture.py", "numpy": np.__version__, "cases": cases}, f)
    f.write("\n")
