/** Indices and precisions given through the API are checked, never converted into some other row. */
import { test } from 'node:test';
import { float64Trajectory, linearizeNetwork, linearizeStage, linearizeUnit } from '../../src/linearize/index.js';
import { loadModel } from '../../src/model/load.js';
import { unitSpectrum } from '../../src/study/spectrum.js';
import { rejectsInput } from './support.js';

const model = await loadModel('resnet56');
const pixels = Float64Array.from({ length: 3072 }, (_, i) => ((i * 7919) % 256) / 255);

test('denseRows refuses 2^32 + 5, NaN, 1.7 and -1 instead of reading row 5, 0, 1 or failing later', async () => {
  const t = await float64Trajectory(model, pixels);
  const op = await linearizeUnit(model, t, '3.9');
  try {
    for (const [row, shown] of [[2 ** 32 + 5, '4294967301'], [NaN, 'NaN'], [1.7, '1.7'], [-1, '-1'], [4096, '4096']] as const) {
      await rejectsInput(() => op.denseRows([0, row]), new RegExp(`^row ${shown} of unit 3\\.9 \\(26\\) of resnet56 is outside 0\\.\\.4095$`));
    }
  } finally {
    op.dispose();
  }
});

test('an unknown precision is refused everywhere it is accepted', async () => {
  const t = await float64Trajectory(model, pixels);
  const f16 = { precision: 'f16' as 'f32' };
  const message = /^precision must be one of f64, f32, got "f16"$/;
  await rejectsInput(() => linearizeUnit(model, t, 26, f16), message);
  await rejectsInput(() => linearizeStage(model, t, 3, f16), message);
  await rejectsInput(() => linearizeNetwork(model, t, f16), message);
  await rejectsInput(() => unitSpectrum(model, Float32Array.from(pixels), 26, f16), message);
});
