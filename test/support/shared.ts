/**
 * Where tests find their data. Everything `npm test` needs on a fresh clone is in the repository: PyTorch
 * float64 references and small checkpoints under test/fixtures/, the 1,000-image CIFAR-10 sample under
 * data/cifar10-sample/ (see test/fixtures/README.md). Tests that need more — the full 10,000-image test
 * set, the project's and the public checkpoints — read `../shared` beside the repository (CI has it) and
 * skip themselves, saying why, when it is absent. $RESNET_STABILITY_DATA, when set, names the full test set.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const fixturesDir = join(repoRoot, 'test/fixtures');
export const sharedDir = join(repoRoot, '..', 'shared');
export const sharedPath = (relative: string): string => join(sharedDir, relative);
export const fixturePath = (relative: string): string => join(fixturesDir, relative);

/** The class-balanced first 1,000 images of the CIFAR-10 test file, shipped as the package's default data. */
export const cifarSampleFile = join(repoRoot, 'data/cifar10-sample/test_batch_1000.bin');

/** The full 10,000-image CIFAR-10 test file: $RESNET_STABILITY_DATA (file or directory), else ../shared's; undefined if neither exists. */
export const cifarFullFile: string | undefined = (() => {
  const fromEnv = process.env.RESNET_STABILITY_DATA;
  const candidates = fromEnv
    ? [fromEnv, join(fromEnv, 'test_batch.bin'), join(fromEnv, 'cifar-10-batches-bin/test_batch.bin')]
    : [sharedPath('data/cifar10/test_batch.bin')];
  return candidates.find((path) => existsSync(path) && statSync(path).isFile());
})();

/** The test file for tests that read the first images only: the full set when present, else the sample. */
export const cifarTestFile = cifarFullFile ?? cifarSampleFile;

/**
 * The path of `../shared/<relative>`, or undefined after marking the test skipped with the reason when
 * ../shared (or that file in it) is absent: `const path = sharedOrSkip(t, 'models/resnet56.th', 'why'); if (!path) return;`
 */
export function sharedOrSkip(t: TestContext, relative: string, reason: string): string | undefined {
  const path = sharedPath(relative);
  if (existsSync(path)) return path;
  t.skip(`needs ../shared/${relative}: ${reason}`);
  return undefined;
}

/** The full CIFAR-10 test file, or undefined after marking the test skipped with the reason. */
export function fullCifarOrSkip(t: TestContext, reason: string): string | undefined {
  if (cifarFullFile) return cifarFullFile;
  t.skip(`needs ../shared/data/cifar10/test_batch.bin (or $RESNET_STABILITY_DATA): ${reason}`);
  return undefined;
}

/** A reference computed with PyTorch in float64 (copied from ../shared/reference; see test/fixtures/README.md). */
export function readReferenceJson<T>(name: string): T {
  return JSON.parse(readFileSync(fixturePath(`reference/${name}`), 'utf8')) as T;
}

/** A raw little-endian float64 reference file. */
export function readReferenceF64(name: string): Float64Array {
  const bytes = readFileSync(fixturePath(`reference/${name}`));
  return new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

export const PUBLIC_CHECKPOINTS = {
  resnet20: 'models/public/resnet20-12fca82f.th',
  resnet32: 'models/public/resnet32-d509ac18.th',
  resnet44: 'models/public/resnet44-014dd654.th',
  resnet56: 'models/public/resnet56-4bfd9763.th',
} as const;

/** The generated checkpoints in test/fixtures/checkpoints/ and what PyTorch says about them. */
export interface CheckpointFixture {
  n: number;
  format: 'zip' | 'legacy';
  spots: [key: string, index: number[], value: number][];
  images: number[];
  logits: number[][];
}
export const CHECKPOINT_FIXTURES = JSON.parse(readFileSync(fixturePath('checkpoints/checkpoints.json'), 'utf8')) as Record<
  'resnet14-zip.th' | 'resnet8-legacy.th',
  CheckpointFixture
>;
export const checkpointFixture = (name: keyof typeof CHECKPOINT_FIXTURES): string => fixturePath(`checkpoints/${name}`);
