/** Where tests find ../shared (models, CIFAR-10, PyTorch float64 references). */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const sharedDir = fileURLToPath(new URL('../../../shared/', import.meta.url));
export const sharedPath = (relative: string): string => sharedDir + relative;
export const cifarTestFile = sharedPath('data/cifar10/test_batch.bin');

export function readReferenceJson<T>(name: string): T {
  return JSON.parse(readFileSync(sharedPath(`reference/${name}`), 'utf8')) as T;
}

/** A raw little-endian float64 reference file. */
export function readReferenceF64(name: string): Float64Array {
  const bytes = readFileSync(sharedPath(`reference/${name}`));
  return new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

export const PUBLIC_CHECKPOINTS = {
  resnet20: 'models/public/resnet20-12fca82f.th',
  resnet32: 'models/public/resnet32-d509ac18.th',
  resnet44: 'models/public/resnet44-014dd654.th',
  resnet56: 'models/public/resnet56-4bfd9763.th',
} as const;
