/**
 * A matrix whose entries are all subnormal has tiny but well-defined singular values: every route
 * returns them (it returned NaN or 0), checked against the closed form for a 2 x 3 matrix.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { svd, svdValues } from '../../src/spectrum/svd.js';

const C = [3, 0, 4, 5, 1, 2];
// C C^T = [[25, 23], [23, 30]]: eigenvalues (55 ± sqrt(55^2 - 4 * 221)) / 2, singular values their roots.
const exact = [Math.sqrt((55 + Math.sqrt(2141)) / 2), Math.sqrt((55 - Math.sqrt(2141)) / 2)];

for (const exponent of [-1060, -1000, -970]) {
  test(`all entries times 2^${exponent}: every route gives the scaled singular values`, async () => {
    const a = Float64Array.from(C, (v) => v * 2 ** exponent);
    const expected = exact.map((s) => s * 2 ** exponent);
    // A subnormal result carries fewer bits: allow two of its units in the last place.
    const tolerance = (s: number): number => Math.max(2 * 2 ** -1074, 1e-14 * s);
    const results = {
      auto: await svdValues(a, 2, 3),
      bidiagonal: await svdValues(a, 2, 3, { route: 'bidiagonal' }),
      gram: await svdValues(a, 2, 3, { route: 'gram' }),
      svd: (await svd(a, 2, 3)).s,
      transposed: await svdValues(Float64Array.from([C[0], C[3], C[1], C[4], C[2], C[5]], (v) => v * 2 ** exponent), 3, 2),
    };
    for (const [route, s] of Object.entries(results)) {
      assert.equal(s.length, 2, route);
      for (let i = 0; i < 2; i++) {
        assert.ok(Number.isFinite(s[i]!) && Math.abs(s[i]! - expected[i]!) <= tolerance(expected[i]!), `${route}: s[${i}] = ${s[i]}, expected ${expected[i]}`);
      }
    }
  });
}

test('the vectors of an all-subnormal matrix are those of the unscaled one', async () => {
  const { u, vt, s } = await svd(Float64Array.from(C, (v) => v * 2 ** -1060), 2, 3);
  // u diag(s) vt reproduces the matrix to the precision of its subnormal entries.
  for (let i = 0; i < 2; i++) {
    for (let j = 0; j < 3; j++) {
      let sum = 0;
      for (let k = 0; k < 2; k++) sum += u[i * 2 + k]! * s[k]! * vt[k * 3 + j]!;
      assert.ok(Math.abs(sum - C[i * 3 + j]! * 2 ** -1060) <= 8 * 2 ** -1074, `entry (${i}, ${j}): ${sum}`);
    }
  }
});
