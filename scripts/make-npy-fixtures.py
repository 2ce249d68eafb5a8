#!/usr/bin/env python3
"""Writes test/fixtures/npy/: .npy files written by NumPy's own numpy.save, against which the package's
.npy writer (src/util/npy.ts, chosen by `--values-out x.npy`) is checked byte for byte (test/npy.test.ts),
and npy.json, the values and shapes they hold.

The values are chosen to exercise the format rather than any numerics: negative zero, the smallest
subnormal, the largest finite double, an irrational, a vector of zero length, and a C-order matrix
(a two-axis shape in the header). numpy.save writes format 1.0 for these (the header is short).
For the reader, a format 2.0 file it must read and three NumPy files it must refuse (see below).

Regenerate with: /usr/bin/python3 scripts/make-npy-fixtures.py (needs numpy; not run by the tests).
"""
import json
import math
import os

import numpy as np

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'npy')
os.makedirs(out, exist_ok=True)

cases = {
    'vector-7.npy': np.array([1.5, -0.0, 5e-324, 1.7976931348623157e308, math.pi, -2.25, 1e-300], dtype='<f8'),
    'empty.npy': np.zeros(0, dtype='<f8'),
    'matrix-2x3.npy': np.array([[1.0, 2.0, 3.0], [-4.0, 0.1, 1.0 / 3.0]], dtype='<f8'),
}

manifest = {'generator': 'scripts/make-npy-fixtures.py', 'numpy': np.__version__, 'files': {}}
for name, array in cases.items():
    path = os.path.join(out, name)
    np.save(path, array, allow_pickle=False)
    # Round trip through NumPy's reader: what a user's numpy.load returns.
    back = np.load(path, allow_pickle=False)
    assert back.dtype == np.dtype('<f8') and back.shape == array.shape and np.array_equal(back, array)
    with open(path, 'rb') as f:
        assert f.read(8) == b'\x93NUMPY\x01\x00', name  # format version 1.0
    # repr() round-trips every double exactly, and JSON.parse reads it back to the same double.
    manifest['files'][name] = {'shape': list(array.shape), 'values': [float(v) for v in array.reshape(-1)]}

# For the reader (parseNpyFloat64): files NumPy writes that it must read (format 2.0, as numpy.save
# writes for headers too long for 1.0) or refuse with one line (float32, big-endian, a Fortran-order
# matrix), with the values the readable ones hold.
readable = {
    'version-2.npy': ((2, 0), np.array([0.5, -1.0, 2.0 ** -1074], dtype='<f8')),
}
refused = {
    'vector-f4.npy': np.array([1.0, 2.0], dtype='<f4'),
    'vector-be.npy': np.array([1.0, 2.0], dtype='>f8'),
    'fortran-2x3.npy': np.asfortranarray(np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype='<f8')),
}
manifest['readable'] = {}
for name, (version, array) in readable.items():
    path = os.path.join(out, name)
    with open(path, 'wb') as f:
        np.lib.format.write_array(f, array, version=version, allow_pickle=False)
    back = np.load(path, allow_pickle=False)
    assert np.array_equal(back, array)
    with open(path, 'rb') as f:
        assert f.read(8) == b'\x93NUMPY' + bytes(version), name
    manifest['readable'][name] = {'shape': list(array.shape), 'values': [float(v) for v in array.reshape(-1)]}
manifest['refused'] = {}
for name, array in refused.items():
    path = os.path.join(out, name)
    np.save(path, array, allow_pickle=False)
    back = np.load(path, allow_pickle=False)
    assert back.dtype == array.dtype and np.array_equal(back, array)
    manifest['refused'][name] = {'descr': np.lib.format.dtype_to_descr(array.dtype), 'fortran_order': bool(array.flags.f_contiguous and not array.flags.c_contiguous)}

with open(os.path.join(out, 'npy.json'), 'w') as f:
    json.dump(manifest, f, indent=1)
    f.write('\n')
print('wrote', ', '.join([*cases, *readable, *refused]), 'and npy.json to', os.path.relpath(out))
