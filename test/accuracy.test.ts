/**
 * `eval` reproduces, to the hundredth of a percent, the accuracies that ../shared/README.md lists for
 * all six models on the 10,000 test images (the two shipped by name, the four public ones from their
 * checkpoint files). The slowest test of the suite: about 1.5 million ResNet unit evaluations. Needs the
 * full test set and the public checkpoints from ../shared; skipped without them.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli } from './support/cli.js';
import { fullCifarOrSkip, PUBLIC_CHECKPOINTS, sharedOrSkip } from './support/shared.js';

/** [name, --model (a shipped name, or a checkpoint in ../shared), accuracy in %]. */
const expected: [string, string, number][] = [
  ['resnet56', 'resnet56', 89.37],
  ['resnet110', 'resnet110', 89.06],
  ['public resnet20', PUBLIC_CHECKPOINTS.resnet20, 81.03],
  ['public resnet32', PUBLIC_CHECKPOINTS.resnet32, 82.56],
  ['public resnet44', PUBLIC_CHECKPOINTS.resnet44, 82.67],
  ['public resnet56', PUBLIC_CHECKPOINTS.resnet56, 83.2],
];

for (const [name, modelSpec, percent] of expected) {
  test(`eval ${name}: ${percent} % of 10000`, async (t) => {
    const data = fullCifarOrSkip(t, 'the accuracies are measured on all 10,000 test images');
    if (!data) return;
    const model = modelSpec.startsWith('models/') ? sharedOrSkip(t, modelSpec, 'a public checkpoint, not in the repository') : modelSpec;
    if (!model) return;
    const result = await runCli(['eval', '--model', model, '--data', data, '--json']);
    assert.equal(result.code, 0, result.stderr);
    const out = JSON.parse(result.stdout);
    assert.equal(out.images, 10000);
    assert.equal(out.correct, Math.round(percent * 100));
    assert.equal(Math.round(out.accuracy * 10000) / 100, percent);
  });
}
