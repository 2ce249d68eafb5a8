/**
 * `resnet-stability import <weights> --out <dir>`: convert a PyTorch state dict (zip or legacy
 * checkpoint, or .safetensors) of any family recognise.ts knows into a model directory, saying what
 * was recognised. Every option is checked before anything is read or written (exit 2), and nothing is
 * written unless the whole import succeeds.
 */
import { Command } from 'commander';
import { createHash } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { resNetToStateDict } from '../model/format.js';
import { modelFromStateDict, readWeightsFile } from '../model/from-state-dict.js';
import type { Family } from '../model/graph.js';
import { MAX_CHECKPOINT_BYTES, saveModel } from '../model/load.js';
import { ResNetModel, type AccuracyRecord } from '../model/model.js';
import { describeNetwork, FAMILIES, parseFamily } from '../model/recognise.js';
import { writeSafetensors } from '../model/safetensors.js';
import type { Normalization } from '../model/types.js';
import { InputError, UsageError } from '../util/errors.js';
import { readRegularFile } from '../util/read-file.js';
import { evaluateAccuracy } from './eval.js';

interface ImportOptions {
  out: string;
  name?: string;
  arch?: string;
  mean?: string;
  std?: string;
  inputSize?: string;
  classes?: string;
  safetensorsOut?: string;
  measureAccuracy?: string | true;
  json?: boolean;
  quiet?: boolean;
}

/** Three finite numbers `a,b,c` (positive ones for `--std`). */
export function parseTriple(text: string, option: string, positive: boolean): [number, number, number] {
  const parts = text.split(',');
  const values = parts.map((p) => (p.trim() === '' ? Number.NaN : Number(p)));
  if (values.length !== 3 || !values.every((v) => Number.isFinite(v) && (!positive || v > 0))) {
    throw new UsageError(`${option} must be three ${positive ? 'positive' : 'finite'} numbers a,b,c, got ${JSON.stringify(text)}`);
  }
  return values as [number, number, number];
}

/** The largest --input-size side (ImageNet models take 224). */
const MAX_SIDE = 4096;

/** `HxW` (or one number for a square), each side 1..4096. */
export function parseInputSize(text: string): [number, number] {
  const match = /^(\d{1,5})(?:x(\d{1,5}))?$/.exec(text);
  const h = match ? Number(match[1]) : Number.NaN;
  const w = match ? Number(match[2] ?? match[1]) : Number.NaN;
  if (!(h >= 1 && h <= MAX_SIDE && w >= 1 && w <= MAX_SIDE)) {
    throw new UsageError(`--input-size must be HxW with sides 1..${MAX_SIDE} (e.g. 32x32, 224x224), got ${JSON.stringify(text)}`);
  }
  return [h, w];
}

/** Class names from a text file, one per line (blank lines ignored), distinct. */
async function readClassNames(path: string): Promise<string[]> {
  const text = new TextDecoder().decode(await readRegularFile(path, 16 * 2 ** 20, `--classes ${path}`));
  const names = text.split(/\r?\n/).map((line) => line.trim()).filter((line) => line !== '');
  const seen = new Set<string>();
  for (const [i, name] of names.entries()) {
    if (seen.has(name)) throw new InputError(`--classes ${path}: line ${i + 1} repeats the class name ${JSON.stringify(name)}`);
    seen.add(name);
  }
  return names;
}

/** Writes `bytes` to `path` under a temporary name first, so that a failure leaves nothing behind. */
async function writeAtomically(path: string, bytes: Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, path);
  } finally {
    await rm(tmp, { force: true });
  }
}

export function importCommand(): Command {
  return new Command('import')
    .description(`convert a PyTorch state dict (.th/.pt/.pth zip or legacy checkpoint, or .safetensors) of a ResNet (${FAMILIES.join(', ')}) into a model directory`)
    .argument('<weights>', 'PyTorch checkpoint or .safetensors file')
    .requiredOption('--out <dir>', 'output model directory (model.json + weights.bin)')
    .option('--name <name>', 'model name recorded in model.json (default: the file name)')
    .option('--arch <family>', `the family, instead of recognising it from the key names: ${FAMILIES.join(', ')}`)
    .option('--mean <a,b,c>', 'per-channel input mean for pixels in [0,1] (default: 0.485,0.456,0.406)')
    .option('--std <a,b,c>', 'per-channel input std (default: 0.229,0.224,0.225)')
    .option('--input-size <HxW>', 'input height x width (default: 32x32; 224x224 for a 1000-class torchvision ResNet)')
    .option('--classes <file>', 'class names, one per line, in label order (default: CIFAR-10 / CIFAR-100 names, else 0..N-1)')
    .option('--safetensors-out <file>', 'also write the weights as a .safetensors file')
    .option('--measure-accuracy [data]', 'evaluate on CIFAR-10 test data (or the CIFAR-100 test.bin given) and record the accuracy in model.json')
    .option('--json', 'print what was recognised and written as one JSON object on stdout')
    .option('--quiet', 'no progress output')
    .action(async (weightsPath: string, opts: ImportOptions) => {
      const arch: Family | undefined = opts.arch === undefined ? undefined : parseFamily(opts.arch);
      const normalization: Normalization = {
        mean: opts.mean === undefined ? [0.485, 0.456, 0.406] : parseTriple(opts.mean, '--mean', false),
        std: opts.std === undefined ? [0.229, 0.224, 0.225] : parseTriple(opts.std, '--std', true),
      };
      const inputSize = opts.inputSize === undefined ? undefined : parseInputSize(opts.inputSize);
      if (opts.safetensorsOut !== undefined && opts.safetensorsOut === '') throw new UsageError('--safetensors-out needs a file name');
      const classNames = opts.classes === undefined ? undefined : await readClassNames(opts.classes);

      const bytes = await readRegularFile(weightsPath, MAX_CHECKPOINT_BYTES, `checkpoint ${weightsPath}`);
      const source = basename(weightsPath);
      const name = opts.name ?? source.replace(/\.(th|pt|pth|tar|safetensors)$/i, '');
      const dict = readWeightsFile(bytes, source);
      let model = modelFromStateDict(dict, source, { arch, inputSize }, { name, normalization });
      if (classNames) {
        if (classNames.length !== model.numClasses) {
          throw new InputError(`--classes ${opts.classes}: ${classNames.length} names, the classifier has ${model.numClasses} outputs`);
        }
        model = new ResNetModel(model.hasParams ? model.params : model.graph, { name, normalization, classes: classNames, weights: model.weights });
      }
      const description = describeNetwork(model.graph);
      if (!opts.json) process.stderr.write(`recognised ${description}\n`);
      if (opts.measureAccuracy !== undefined) {
        const data = opts.measureAccuracy === true ? undefined : opts.measureAccuracy;
        // CIFAR-10 by default; a CIFAR-100 test.bin when named.
        const fits = model.inputShape[1] === 32 && model.inputShape[2] === 32 && (model.numClasses === 10 || (model.numClasses === 100 && data !== undefined));
        if (!fits) {
          throw new UsageError(
            `--measure-accuracy evaluates on CIFAR-10 (or a CIFAR-100 test.bin given as its value): it needs a 10- or 100-class model of 32x32 input, this one has ${model.numClasses} classes and input ${model.inputShape.join('x')}`,
          );
        }
        const result = await evaluateAccuracy(model, data, { quiet: opts.quiet || opts.json });
        const accuracy: AccuracyRecord = {
          dataset: `${model.numClasses === 100 ? 'CIFAR-100' : 'CIFAR-10'} test set (${basename(result.source)})`,
          images: result.images,
          correct: result.correct,
          top1: result.accuracy,
        };
        model = new ResNetModel(model.hasParams ? model.params : model.graph, { name, normalization, classes: model.classes, accuracy, weights: model.weights });
      }
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      if (opts.safetensorsOut !== undefined) {
        await writeAtomically(opts.safetensorsOut, writeSafetensors(model.hasParams ? resNetToStateDict(model.params) : model.weights!));
      }
      try {
        await saveModel(model, opts.out, { checkpoint: source, sha256 });
      } catch (error) {
        if (opts.safetensorsOut !== undefined) await rm(opts.safetensorsOut, { force: true });
        throw error;
      }
      if (opts.json) {
        const modelJson = JSON.parse(await readFile(`${opts.out}/model.json`, 'utf8'));
        process.stdout.write(JSON.stringify({
          model: name,
          out: opts.out,
          recognised: { ...model.graph.description, inputShape: model.inputShape },
          units: model.unitCount,
          normalization,
          classes: model.classes,
          formatVersion: modelJson.formatVersion,
          ...(opts.safetensorsOut !== undefined ? { safetensors: opts.safetensorsOut } : {}),
          ...(model.accuracy ? { accuracy: model.accuracy } : {}),
        }) + '\n');
      } else {
        process.stderr.write(`wrote ${opts.out}/model.json (${name}, depth ${model.depth}, ${model.unitCount} units)\n`);
      }
    });
}
