/**
 * The .npy writer (src/util/npy.ts) against files NumPy's numpy.save wrote (test/fixtures/npy, from
 * scripts/make-npy-fixtures.py), byte for byte; the reader on NumPy's files (read, or refused with one
 * line); `spectrum --values-out x.npy` end to end; and a study's job files (`<out>/jobs/<key>.npy`) read
 * back by NumPy itself when /usr/bin/python3 has it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { float64FileBytes, isNpyPath, npyFloat64, parseNpyFloat64, rawFloat64, readFloat64File } from '../src/util/npy.js';
import { InputError } from '../src/util/errors.js';
import { runCli } from './support/cli.js';

const fixtures = fileURLToPath(new URL('./fixtures/npy/', import.meta.url));
const manifest = JSON.parse(readFileSync(join(fixtures, 'npy.json'), 'utf8')) as {
  numpy: string;
  files: Record<string, { shape: number[]; values: number[] }>;
  readable: Record<string, { shape: number[]; values: number[] }>;
  refused: Record<string, { descr: string; fortran_order: boolean }>;
};
const fixture = (name: string) => new Uint8Array(readFileSync(join(fixtures, name)));

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

for (const [name, { shape, values }] of Object.entries({ ...manifest.files, ...manifest.readable })) {
  test(`reader: ${name} (NumPy ${manifest.numpy}) gives its shape (${shape.join(', ')}) and values`, () => {
    const read = parseNpyFloat64(fixture(name), name);
    assert.deepEqual(read.shape, shape);
    assert.deepEqual(Array.from(read.values), values);
  });
}

for (const [name, { descr, fortran_order }] of Object.entries(manifest.refused)) {
  test(`reader: ${name} (NumPy's ${descr}${fortran_order ? ', Fortran order' : ''}) is refused with one line naming it`, () => {
    assert.throws(() => parseNpyFloat64(fixture(name), `dir/${name}`), (err: Error) => {
      assert.ok(err instanceof InputError);
      assert.match(err.message, new RegExp(`^dir/${name.replace('.', '\\.')}: ${fortran_order ? 'Fortran-order arrays of more than one axis are not read' : `dtype '${descr}', not float64`}`));
      return true;
    });
  });
}

test('reader: a vector file by extension, raw float64 otherwise; a matrix where a vector is wanted is refused', async (t) => {
  const tmp = mkdtempSync(join(tmpdir(), 'rs-npy-read-'));
  t.after(() => rmSync(tmp, { recursive: true, force: true }));
  assert.deepEqual(Array.from(await readFloat64File(join(fixtures, 'vector-7.npy'))), manifest.files['vector-7.npy'].values);
  await assert.rejects(readFloat64File(join(fixtures, 'matrix-2x3.npy')), /matrix-2x3\.npy: shape \(2, 3\), not a vector$/);
  await assert.rejects(readFloat64File(join(tmp, 'missing.npy')), /missing\.npy: cannot read \(ENOENT\)$/);
});

/** The job values files of a spectrum study of unit 3.1 at images 0 and 1 of the tiny model, with their values read by us. */
async function jobFiles(t: { after(fn: () => void): void }): Promise<{ path: string; values: Float64Array }[]> {
  const tmp = mkdtempSync(join(tmpdir(), 'rs-npy-jobs-'));
  t.after(() => rmSync(tmp, { recursive: true, force: true }));
  const model = fileURLToPath(new URL('./fixtures/families/cifar-a.pt', import.meta.url));
  const out = join(tmp, 'out');
  const result = await runCli(['spectrum', '--model', model, '--images', '0-1', '--units', '3.1', '--method', 'full', '--workers', '1', '--quiet', '--out', out]);
  assert.equal(result.code, 0, result.stderr);
  const names = readdirSync(join(out, 'jobs')).filter((n) => n.endsWith('.npy'));
  assert.equal(names.length, 2);
  assert.deepEqual(readdirSync(join(out, 'jobs')).filter((n) => n.endsWith('.f64')), []);
  return Promise.all(names.map(async (n) => ({ path: join(out, 'jobs', n), values: await readFloat64File(join(out, 'jobs', n)) })));
}

test('job files: the header numpy.save writes for the shape (checked against its own file, without NumPy), then the values', async (t) => {
  // numpy.save's header for (7,) and for (1024,) differ only in the shape: the spaces it leaves for a
  // growing first axis absorb the longer number, so both are the same length.
  const reference = fixture('vector-7.npy');
  const referenceHeader = Buffer.from(reference.subarray(0, 10 + (reference[8]! | (reference[9]! << 8)))).toString('latin1');
  for (const { path, values } of await jobFiles(t)) {
    const bytes = readFileSync(path);
    assert.equal(values.length, 1024);
    assert.equal(bytes.length, referenceHeader.length + 1024 * 8);
    assert.equal(bytes.subarray(0, referenceHeader.length).toString('latin1'), referenceHeader.replace('(7,), }   ', '(1024,), }'));
    // Descending singular values, as the README says of job files.
    assert.ok(values.every((v, i) => i === 0 || v <= values[i - 1]!) && values[1023]! >= 0 && values[0]! > 0);
  }
});

const numpy = spawnSync('/usr/bin/python3', ['-c', 'import numpy'], { encoding: 'utf8' });
const noNumpy = numpy.error || numpy.status !== 0 ? 'needs NumPy (/usr/bin/python3 -c "import numpy" failed)' : false;

test('job files: numpy.load reads each as is, a float64 vector of the same values', { skip: noNumpy }, async (t) => {
  for (const { path, values } of await jobFiles(t)) {
    const script = 'import sys, numpy; a = numpy.load(sys.argv[1]); print(a.dtype.str, a.shape, float(a.sum()), repr(a[0]), repr(a[-1]))';
    const run = spawnSync('/usr/bin/python3', ['-c', script, path], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const [dtype, shape, sum, first, last] = run.stdout.trim().split(/ (?![^(]*\))/);
    assert.equal(dtype, '<f8');
    assert.equal(shape, '(1024,)');
    // repr() of a double round-trips exactly; numpy's pairwise sum differs from ours only in rounding.
    assert.equal(Number(first), values[0]);
    assert.equal(Number(last), values[1023]);
    const ours = values.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(Number(sum) - ours) <= 1e-12 * ours, `${sum} vs ${ours}`);
  }
});
