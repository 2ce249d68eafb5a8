/** `stage` and `project`: Lanczos against the dense SVD of the same stage, and projection identities. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli } from './support/cli.js';

async function json(args: string[]) {
  const result = await runCli(args);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout);
}

test('stage 3: the top singular values by Lanczos equal those of the dense stage Jacobian (Householder SVD)', async () => {
  const top = await json(['stage', '--model', 'resnet56', '--image', '1', '--stage', '3', '--method', 'topk', '--k', '8', '--json']);
  const full = await json(['stage', '--model', 'resnet56', '--image', '1', '--stage', '3', '--method', 'full', '--json']);
  assert.deepEqual(top.shape, [4096, 8192]);
  assert.equal(full.values.length, 4096);
  top.values.forEach((v: number, i: number) => assert.ok(Math.abs(v - full.values[i]) <= 1e-9 * full.values[0], `rank ${i}: ${v} vs ${full.values[i]}`));
});

test('project: energy fractions lie in [0, 1] and amplifications between s_k^2 and s_1^2 times them', async () => {
  const k = 4;
  const out = await json(['project', '--model', 'resnet56', '--images', '2', '--eps', '0.0078', '--k', String(k), '--json']);
  const [result] = out.results;
  assert.deepEqual(result.attacks.map((a: { attack: string }) => a.attack), ['fgsm', 'gaussian']);
  const spectrum = await json(['spectrum', '--model', 'resnet56', '--image', '2', '--unit', '26', '--method', 'topk', '--k', String(k), '--json']);
  const s = spectrum.results[0].values;
  for (const attack of result.attacks) {
    assert.equal(attack.rows.length, 27);
    for (const row of attack.rows) assert.ok(row.fraction >= 0 && row.fraction <= 1 + 1e-12, `unit ${row.unit}: ${row.fraction}`);
    const last = attack.rows[26];
    assert.ok(last.amplification <= s[0] ** 2 * last.fraction * (1 + 1e-9));
    assert.ok(last.amplification >= s[k - 1] ** 2 * last.fraction * (1 - 1e-9));
  }
});
