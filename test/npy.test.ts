/**
 * The .npy writer (src/util/npy.ts) against files NumPy's numpy.save wrote (test/fixtures/npy, from
 * scripts/make-npy-fixtures.py), byte for byte; and `spectrum --values-out x.npy` end to end.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { float64FileBytes, isNpyPath, npyFloat64, rawFloat64 } from '../src/util/npy.js';
import { runCli } from './support/cli.js';

const fixtures = fileURLToPath(new URL('./fixtures/npy/', import.meta.url));
const manifest = JSON.parse(readFileSync(join(fixtures, 'npy.json'), 'utf8')) as {
  numpy: string;
  files: Record<string, { shape: number[]; values: number[] }>;
};

for (const [name, { shape, values }] of Object.entries(manifest.files)) {
  test(`${name}: the same bytes as numpy.save (NumPy ${manifest.numpy}) for shape (${shape.join(', ')})`, () => {
    const expected = new Uint8Array(readFileSync(join(fixtures, name)));
    const ours = npyFloat64(Float64Array.from(values), shape);
    assert.equal(Buffer.from(ours.subarray(0, 128)).toString('latin1'), Buffer.from(expected.subarray(0, 128)).toString('latin1'));
    assert.deepEqual(ours, expected);
  });
}

test('negative zero and the smallest subnormal survive the JSON manifest (the fixture check is not vacuous)', () => {
  const { values } = manifest.files['vector-7.npy'];
  assert.ok(Object.is(values[1], -0));
  assert.equal(values[2], Number.MIN_VALUE);
  assert.equal(values[3], Number.MAX_VALUE);
});

test('the file extension chooses the format: .npy (any case) the NumPy container, anything else raw float64', () => {
  const values = [1, -2.5, Math.PI];
  const raw = new Uint8Array(Float64Array.from(values).buffer); // little-endian on every platform Node runs on
  assert.deepEqual(rawFloat64(values), raw);
  assert.deepEqual(float64FileBytes('values.f64', values), raw);
  assert.deepEqual(float64FileBytes('values.bin', values), raw);
  assert.deepEqual(float64FileBytes('values.npy', values), npyFloat64(values));
  assert.deepEqual(float64FileBytes('VALUES.NPY', values), npyFloat64(values));
  assert.equal(isNpyPath('dir.npy/values.f64'), false);
  const npy = npyFloat64(values);
  assert.equal(npy.length % 64, 24 % 64); // header on a 64-byte boundary, then 3 * 8 bytes of data
  assert.deepEqual(npy.subarray(npy.length - 24), raw);
});

test('a shape that does not hold the values, or a negative axis, is refused', () => {
  assert.throws(() => npyFloat64([1, 2, 3], [2, 2]), /shape \(2, 2\) holds 4 values, not 3/);
  assert.throws(() => npyFloat64([], [-1]), /bad shape/);
});

test('spectrum --values-out x.npy: a NumPy file of the same values as --values-out x.f64', async (t) => {
  const tmp = mkdtempSync(join(tmpdir(), 'rs-npy-'));
  t.after(() => rmSync(tmp, { recursive: true, force: true }));
  // A tiny CIFAR ResNet (widths 4, 8, 16): unit 3.1's spectrum has 1024 values and takes a moment.
  const model = fileURLToPath(new URL('./fixtures/families/cifar-a.pt', import.meta.url));
  const run = async (file: string) => {
    const result = await runCli(['spectrum', '--model', model, '--image', '0', '--unit', '3.1', '--values-out', join(tmp, file), '--json']);
    assert.equal(result.code, 0, result.stderr);
    return readFileSync(join(tmp, file));
  };
  const raw = await run('values.f64');
  const npy = await run('values.npy');
  assert.equal(raw.length, 1024 * 8);
  const header = npy.subarray(10, 10 + npy.readUInt16LE(8)).toString('latin1');
  assert.match(header, /^\{'descr': '<f8', 'fortran_order': False, 'shape': \(1024,\), \} +\n$/);
  assert.deepEqual(new Uint8Array(npy.subarray(npy.length - raw.length)), new Uint8Array(raw));
  assert.deepEqual(new Uint8Array(npy), npyFloat64(new Float64Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length))));
});
