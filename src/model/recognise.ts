/**
 * Recognising a residual network from a PyTorch state dict: the family from the key names (issue 11's
 * four namings), the depth, widths and shortcut kind from the keys and shapes, and the NetworkGraph
 * (./graph.ts) that forward and linearization share. Every key and shape is checked, so a dict that
 * fits no family, or a near miss (one key renamed, one shape changed), is refused with one line naming
 * the first key at fault.
 *
 * Strides are not stored in a state dict; every family puts stride 2 in the first unit of each stage
 * after the first, which is what the recogniser assumes.
 */
import { InputError, UsageError } from '../util/errors.js';
import type {
  BatchNormLayer, ConvLayer, Family, Layer, LinearLayer, NetworkDescription, NetworkGraph, ResidualUnitGraph, Shape3,
} from './graph.js';
import { BN_EPS } from './types.js';
import type { StateDict } from './types.js';

export const FAMILIES: readonly Family[] = ['cifar-resnet', 'preact-resnet', 'wide-resnet', 'torchvision-resnet'];

/** How each family is named in messages. */
const FAMILY_LABEL: Record<Family, string> = {
  'cifar-resnet': 'CIFAR ResNet',
  'preact-resnet': 'pre-activation ResNet',
  'wide-resnet': 'Wide ResNet',
  'torchvision-resnet': 'torchvision ResNet',
};

export interface RecogniseOptions {
  /** Force a family (`import --arch`) instead of recognising it from the key names. */
  arch?: Family;
  /** Input height and width (default: 224x224 for torchvision-resnet with 1000 classes, else 32x32). */
  inputSize?: [number, number];
}

export interface RecognisedNetwork {
  graph: NetworkGraph;
  /** The state dict without the `module.` prefix (the graph's layers share its arrays). */
  weights: StateDict;
}

/** Parses a family name, as `--arch` takes it. */
export function parseFamily(text: string, option = '--arch'): Family {
  if ((FAMILIES as readonly string[]).includes(text)) return text as Family;
  throw new UsageError(`${option} must be one of ${FAMILIES.join(', ')}, got ${JSON.stringify(text)}`);
}

/** The family a dict's key names point to, or undefined. */
function guessFamily(keys: string[]): Family | undefined {
  const has = (key: string) => keys.includes(key);
  if (keys.some((key) => /^block\d+\.layer\.\d+\./.test(key))) return 'wide-resnet';
  if (has('fc.weight') && has('bn1.weight')) return 'torchvision-resnet';
  if (has('linear.weight') && has('bn1.weight')) return 'cifar-resnet';
  if (has('linear.weight') && keys.some((key) => /^layer\d+\.\d+\.bn1\./.test(key))) return 'preact-resnet';
  return undefined;
}

const TOP_LEVEL = /^(conv1|bn1|bn|linear|fc|layer\d+|block\d+)\./;

/**
 * The network a state dict describes (keys with or without DataParallel's `module.` prefix). Throws
 * InputError naming `source` and the key at fault when the dict fits no family (or not `options.arch`).
 */
export function recogniseStateDict(dict: StateDict, source: string, options: RecogniseOptions = {}): RecognisedNetwork {
  const prefix = [...dict.keys()].some((key) => key.startsWith('module.')) ? 'module.' : '';
  const weights: StateDict = new Map();
  for (const [key, tensor] of dict) {
    if (!key.startsWith(prefix)) throw new InputError(`${source}: key ${key} lacks the ${prefix} prefix of the others`);
    weights.set(key.slice(prefix.length), tensor);
  }
  if (weights.size === 0) throw new InputError(`${source}: the state dict is empty`);
  const keys = [...weights.keys()];
  const family = options.arch ?? guessFamily(keys);
  if (family === undefined) {
    const odd = keys.find((key) => !TOP_LEVEL.test(key));
    const problem = odd !== undefined ? `unexpected key ${prefix}${odd}` : 'no linear or fc classifier beside conv1/bn1';
    throw new InputError(`${source}: not a recognised ResNet checkpoint (${FAMILIES.join(', ')}): ${problem}`);
  }
  const reader = new Reader(weights, prefix, source, FAMILY_LABEL[family]);
  const graph = BUILDERS[family](reader, keys, options.inputSize);
  reader.checkAllUsed();
  return { graph, weights };
}

/** Checked access to the (prefix-free) dict; every read key is remembered for the unexpected-key check. */
class Reader {
  private readonly used = new Set<string>();
  constructor(
    readonly dict: StateDict,
    readonly prefix: string,
    readonly source: string,
    readonly label: string,
  ) {}

  has(key: string): boolean {
    return this.dict.has(key);
  }

  /** Keys the builder declared it will read (filled by `expect`). */
  private readonly pending = new Set<string>();

  /** Declares the keys the network will read, so that a missing key is reported beside an unexpected one. */
  expect(keys: string[]): void {
    for (const key of keys) this.pending.add(key);
  }

  /** Refuses the dict, naming the missing key and the first key the builder does not expect. */
  missing(key: string): never {
    const unexpected = [...this.dict.keys()].find((k) => !this.pending.has(k));
    const extra = unexpected !== undefined ? `, unexpected key ${this.prefix}${unexpected}` : '';
    throw new InputError(`${this.source}: not a ${this.label} checkpoint: missing key ${this.prefix}${key}${extra}`);
  }

  /** The shape of a key (which must exist). */
  shape(key: string): number[] {
    const tensor = this.dict.get(key);
    if (!tensor) this.missing(key);
    return tensor.shape;
  }

  tensor(key: string, expected: readonly number[]): Float32Array {
    const tensor = this.dict.get(key);
    if (!tensor) this.missing(key);
    const { shape, data } = tensor;
    const at = this.prefix + key;
    if (shape.length !== expected.length || shape.some((size, d) => size !== expected[d])) {
      throw new InputError(`${this.source}: ${at} has shape [${shape.join(',')}], expected [${expected.join(',')}]`);
    }
    if (data.length !== expected.reduce((a, b) => a * b, 1)) {
      throw new InputError(`${this.source}: ${at} holds ${data.length} values, not the ${expected.join('x')} of its shape`);
    }
    // A NaN or infinite weight would give NaN or wrong-but-finite logits with no other sign.
    const bad = data.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new InputError(`${this.source}: ${at} holds ${data[bad]} at element ${bad}; weights must be finite`);
    this.used.add(key);
    return data;
  }

  conv(name: string, outChannels: number, inChannels: number, kernel: number, stride: number): ConvLayer {
    const weight = this.tensor(`${name}.weight`, [outChannels, inChannels, kernel, kernel]);
    const bias = this.has(`${name}.bias`) ? this.tensor(`${name}.bias`, [outChannels]) : undefined;
    return { op: 'conv', inChannels, outChannels, kernel, stride, padding: (kernel - 1) >> 1, weight, ...(bias ? { bias } : {}) };
  }

  bn(name: string, channels: number): BatchNormLayer {
    const runningVar = this.tensor(`${name}.running_var`, [channels]);
    const bad = runningVar.findIndex((v) => !(v > 0));
    if (bad >= 0) {
      throw new InputError(`${this.source}: ${this.prefix}${name}.running_var is ${runningVar[bad]} at channel ${bad}; batch-norm variances must be positive`);
    }
    return {
      op: 'bn',
      channels,
      params: {
        weight: this.tensor(`${name}.weight`, [channels]),
        bias: this.tensor(`${name}.bias`, [channels]),
        runningMean: this.tensor(`${name}.running_mean`, [channels]),
        runningVar,
        eps: BN_EPS,
      },
    };
  }

  /** Output channels of a conv, read off its weight's first dimension. */
  width(name: string): number {
    const shape = this.shape(`${name}.weight`);
    if (shape.length !== 4 || !(shape[0]! > 0)) {
      throw new InputError(`${this.source}: ${this.prefix}${name}.weight has shape [${shape.join(',')}], expected a convolution [out,in,k,k]`);
    }
    return shape[0]!;
  }

  linear(name: string, inFeatures: number): LinearLayer {
    const shape = this.shape(`${name}.weight`);
    if (shape.length !== 2 || !(shape[0]! > 0)) {
      throw new InputError(`${this.source}: ${this.prefix}${name}.weight has shape [${shape.join(',')}], expected [classes,${inFeatures}]`);
    }
    const outFeatures = shape[0]!;
    return {
      op: 'linear',
      inFeatures,
      outFeatures,
      weight: this.tensor(`${name}.weight`, [outFeatures, inFeatures]),
      bias: this.tensor(`${name}.bias`, [outFeatures]),
    };
  }

  checkAllUsed(): void {
    const unexpected = [...this.dict.keys()].find((key) => !this.used.has(key));
    if (unexpected !== undefined) throw new InputError(`${this.source}: not a ${this.label} checkpoint: unexpected key ${this.prefix}${unexpected}`);
  }
}

const BN_FIELDS = ['weight', 'bias', 'running_mean', 'running_var'];
const bnKeys = (name: string) => BN_FIELDS.map((field) => `${name}.${field}`);

/**
 * Units per stage from the keys `<stagePrefix>K<unitInfix>I.`: stage K (1-based, contiguous from 1)
 * has 1 + the largest I. An index no dict of this size could reach is refused at once.
 */
function stageUnits(reader: Reader, keys: string[], pattern: RegExp): number[] {
  const counts: number[] = [];
  for (const key of keys) {
    const match = pattern.exec(key);
    if (!match) continue;
    const stage = Number(match[1]);
    const index = Number(match[2]);
    if (stage < 1 || stage > 16 || index >= keys.length) {
      throw new InputError(`${reader.source}: not a ${reader.label} checkpoint: unexpected key ${reader.prefix}${key}`);
    }
    counts[stage - 1] = Math.max(counts[stage - 1] ?? 0, index + 1);
  }
  const firstConv = (s: number) => (pattern.source.startsWith('^block') ? `block${s + 1}.layer.0.conv1.weight` : `layer${s + 1}.0.conv1.weight`);
  if (counts.length === 0) reader.missing(firstConv(0));
  for (let s = 0; s < counts.length; s++) if (counts[s] === undefined) reader.missing(firstConv(s));
  return counts;
}

/** Spatial size after a conv or pool (PyTorch, floor mode). */
function outSize(size: number, kernel: number, stride: number, padding: number): number {
  return Math.floor((size + 2 * padding - kernel) / stride) + 1;
}

/** The activation shape after a list of layers (convs, pools, option-A change it). */
function shapeAfter(shape: Shape3, layers: Layer[]): Shape3 {
  let [c, h, w] = shape;
  for (const layer of layers) {
    if (layer.op === 'conv' || layer.op === 'maxpool') {
      h = outSize(h, layer.kernel, layer.stride, layer.padding);
      w = outSize(w, layer.kernel, layer.stride, layer.padding);
      if (layer.op === 'conv') c = layer.outChannels;
    } else if (layer.op === 'option-a') {
      h = Math.ceil(h / layer.stride);
      w = Math.ceil(w / layer.stride);
      c = layer.outChannels;
    }
  }
  return [c, h, w];
}

type Builder = (reader: Reader, keys: string[], inputSize?: [number, number]) => NetworkGraph;

const RELU: Layer = { op: 'relu' };

interface UnitParts {
  pre: Layer[];
  body: Layer[];
  shortcut: Layer[];
  shortcutFrom: 'input' | 'pre';
  post: Layer[];
  outChannels: number;
}

/**
 * Assembles the graph: the stem, the units in stage order (built by `unit`), the head; shapes are
 * propagated from the input size and a unit whose body and shortcut disagree is refused.
 */
function assemble(
  reader: Reader,
  family: Family,
  counts: number[],
  stem: Layer[],
  stemChannels: number,
  unit: (stage: number, index: number, inChannels: number, stride: number) => UnitParts & { source: string },
  head: (channels: number) => Layer[],
  describe: (units: ResidualUnitGraph[], classes: number) => Pick<NetworkDescription, 'depth' | 'shortcut' | 'block'>,
  inputSize?: [number, number],
): NetworkGraph {
  const units: ResidualUnitGraph[] = [];
  let channels = stemChannels;
  const widths: number[] = [];
  // Units are read (and checked) before the head, so that a dict's keys are checked in network order.
  const parts: (UnitParts & { source: string; stage: number; index: number })[] = [];
  counts.forEach((count, s) => {
    for (let i = 0; i < count; i++) {
      const stride = s > 0 && i === 0 ? 2 : 1;
      const p = unit(s + 1, i, channels, stride);
      parts.push({ ...p, stage: s + 1, index: i });
      channels = p.outChannels;
    }
    widths.push(channels);
  });
  const headLayers = head(channels);
  const classifier = headLayers[headLayers.length - 1] as LinearLayer;
  const classes = classifier.outFeatures;
  const [h, w] = inputSize ?? (family === 'torchvision-resnet' && classes === 1000 ? [224, 224] : [32, 32]);
  const inputShape: Shape3 = [3, h, w];
  let shape = shapeAfter(inputShape, stem);
  if (!(shape[1] > 0 && shape[2] > 0)) throw new UsageError(`--input-size ${h}x${w} is too small for the stem of this network`);
  for (const p of parts) {
    const mainPath = shapeAfter(shape, [...p.pre, ...p.body]);
    const skip = shapeAfter(p.shortcutFrom === 'pre' ? shapeAfter(shape, p.pre) : shape, p.shortcut);
    if (mainPath.some((v, d) => v !== skip[d]) || !(mainPath[1] > 0 && mainPath[2] > 0)) {
      if (!(mainPath[1] > 0 && mainPath[2] > 0)) throw new UsageError(`--input-size ${h}x${w} is too small: unit ${p.source} would have no pixels left`);
      throw new InputError(
        `${reader.source}: ${reader.prefix}${p.source}: the residual branch gives [${mainPath.join(',')}] but the shortcut [${skip.join(',')}]`,
      );
    }
    units.push({
      stage: p.stage,
      indexInStage: p.index,
      source: p.source,
      inShape: shape,
      outShape: mainPath,
      pre: p.pre,
      body: p.body,
      shortcut: p.shortcut,
      shortcutFrom: p.shortcutFrom,
      post: p.post,
    });
    shape = mainPath;
  }
  return {
    description: { family, widths, unitsPerStage: counts, classes, ...describe(units, classes) },
    inputShape,
    stem,
    units,
    head: headLayers,
  };
}

function shortcutKind(units: ResidualUnitGraph[]): NetworkDescription['shortcut'] {
  const ops = new Set(units.flatMap((u) => u.shortcut.map((l) => l.op)));
  if (ops.has('option-a')) return 'A';
  if (ops.has('bn')) return 'B';
  if (ops.has('conv')) return 'conv';
  return 'none';
}

/** Expected key names of a pre- or post-activation unit, for the missing/unexpected report. */
function declareUnit(reader: Reader, name: string, convs: number, bns: string[], extra: string[]): void {
  reader.expect([...Array.from({ length: convs }, (_, c) => `${name}.conv${c + 1}.weight`), ...bns.flatMap((b) => bnKeys(`${name}.${b}`)), ...extra]);
}

const cifarResNet: Builder = (reader, keys, inputSize) => {
  const counts = stageUnits(reader, keys, /^layer(\d+)\.(\d+)\./);
  const optionB = keys.some((key) => /^layer\d+\.\d+\.shortcut\./.test(key));
  reader.expect(['conv1.weight', ...bnKeys('bn1'), 'linear.weight', 'linear.bias']);
  counts.forEach((count, s) => {
    for (let i = 0; i < count; i++) {
      const name = `layer${s + 1}.${i}`;
      declareUnit(reader, name, 2, ['bn1', 'bn2'], reader.has(`${name}.shortcut.0.weight`) ? ['shortcut.0.weight', ...bnKeys('shortcut.1')].map((k) => `${name}.${k}`) : []);
    }
  });
  const w0 = reader.width('conv1');
  const stem = [reader.conv('conv1', w0, 3, 3, 1), reader.bn('bn1', w0), RELU];
  return assemble(
    reader, 'cifar-resnet', counts, stem, w0,
    (stage, i, inC, stride) => {
      const name = `layer${stage}.${i}`;
      const w = reader.width(`${name}.conv1`);
      const body = [reader.conv(`${name}.conv1`, w, inC, 3, stride), reader.bn(`${name}.bn1`, w), RELU, reader.conv(`${name}.conv2`, w, w, 3, 1), reader.bn(`${name}.bn2`, w)];
      let shortcut: Layer[] = [];
      if (reader.has(`${name}.shortcut.0.weight`) || (optionB && (stride !== 1 || inC !== w))) {
        shortcut = [reader.conv(`${name}.shortcut.0`, w, inC, 1, stride), reader.bn(`${name}.shortcut.1`, w)];
      } else if (stride !== 1 || inC !== w) {
        if (w < inC || (w - inC) % 2 !== 0) {
          throw new InputError(`${reader.source}: ${reader.prefix}${name}.conv1.weight: an option-A shortcut cannot pad ${inC} channels to ${w} (needs an even increase)`);
        }
        shortcut = [{ op: 'option-a', inChannels: inC, outChannels: w, stride }];
      }
      return { source: name, pre: [], body, shortcut, shortcutFrom: 'input', post: [RELU], outChannels: w };
    },
    (c) => [{ op: 'avgpool' }, reader.linear('linear', c)],
    (units) => ({ depth: 2 * units.length + 2, shortcut: shortcutKind(units), block: 'basic' }),
    inputSize,
  );
};

/** The pre-activation unit shared by preact-resnet and wide-resnet (they differ only in names). */
function preactUnit(reader: Reader, name: string, shortcutName: string, inC: number, stride: number, w: number): UnitParts {
  const pre = [reader.bn(`${name}.bn1`, inC), RELU];
  const body = [reader.conv(`${name}.conv1`, w, inC, 3, stride), reader.bn(`${name}.bn2`, w), RELU, reader.conv(`${name}.conv2`, w, w, 3, 1)];
  if (reader.has(`${shortcutName}.weight`)) {
    return { pre, body, shortcut: [reader.conv(shortcutName, w, inC, 1, stride)], shortcutFrom: 'pre', post: [], outChannels: w };
  }
  if (stride !== 1 || inC !== w) reader.missing(`${shortcutName}.weight`);
  return { pre, body, shortcut: [], shortcutFrom: 'input', post: [], outChannels: w };
}

const preactResNet: Builder = (reader, keys, inputSize) => {
  const counts = stageUnits(reader, keys, /^layer(\d+)\.(\d+)\./);
  const finalBn = reader.has('bn.weight');
  reader.expect(['conv1.weight', ...(finalBn ? bnKeys('bn') : []), 'linear.weight', 'linear.bias']);
  counts.forEach((count, s) => {
    for (let i = 0; i < count; i++) declareUnit(reader, `layer${s + 1}.${i}`, 2, ['bn1', 'bn2'], [`layer${s + 1}.${i}.shortcut.0.weight`]);
  });
  const w0 = reader.width('conv1');
  return assemble(
    reader, 'preact-resnet', counts, [reader.conv('conv1', w0, 3, 3, 1)], w0,
    (stage, i, inC, stride) => {
      const name = `layer${stage}.${i}`;
      return { source: name, ...preactUnit(reader, name, `${name}.shortcut.0`, inC, stride, reader.width(`${name}.conv1`)) };
    },
    (c) => [...(finalBn ? [reader.bn('bn', c), RELU] : []), { op: 'avgpool' }, reader.linear('linear', c)],
    (units) => ({ depth: 2 * units.length + 2, shortcut: shortcutKind(units), block: 'basic' }),
    inputSize,
  );
};

const wideResNet: Builder = (reader, keys, inputSize) => {
  const counts = stageUnits(reader, keys, /^block(\d+)\.layer\.(\d+)\./);
  reader.expect(['conv1.weight', ...bnKeys('bn1'), 'fc.weight', 'fc.bias']);
  counts.forEach((count, s) => {
    for (let i = 0; i < count; i++) declareUnit(reader, `block${s + 1}.layer.${i}`, 2, ['bn1', 'bn2'], [`block${s + 1}.layer.${i}.convShortcut.weight`]);
  });
  const w0 = reader.width('conv1');
  return assemble(
    reader, 'wide-resnet', counts, [reader.conv('conv1', w0, 3, 3, 1)], w0,
    (stage, i, inC, stride) => {
      const name = `block${stage}.layer.${i}`;
      return { source: name, ...preactUnit(reader, name, `${name}.convShortcut`, inC, stride, reader.width(`${name}.conv1`)) };
    },
    (c) => [reader.bn('bn1', c), RELU, { op: 'avgpool' }, reader.linear('fc', c)],
    (units) => ({ depth: 2 * units.length + 4, shortcut: shortcutKind(units), block: 'basic' }),
    inputSize,
  );
};

const torchvisionResNet: Builder = (reader, keys, inputSize) => {
  const counts = stageUnits(reader, keys, /^layer(\d+)\.(\d+)\./);
  const bottleneck = reader.has('layer1.0.conv3.weight');
  reader.expect(['conv1.weight', ...bnKeys('bn1'), 'fc.weight', 'fc.bias']);
  counts.forEach((count, s) => {
    for (let i = 0; i < count; i++) {
      const name = `layer${s + 1}.${i}`;
      const downsample = reader.has(`${name}.downsample.0.weight`) ? [`${name}.downsample.0.weight`, ...bnKeys(`${name}.downsample.1`)] : [];
      declareUnit(reader, name, bottleneck ? 3 : 2, bottleneck ? ['bn1', 'bn2', 'bn3'] : ['bn1', 'bn2'], downsample);
    }
  });
  const w0 = reader.width('conv1');
  const stem: Layer[] = [reader.conv('conv1', w0, 3, 7, 2), reader.bn('bn1', w0), RELU, { op: 'maxpool', kernel: 3, stride: 2, padding: 1 }];
  return assemble(
    reader, 'torchvision-resnet', counts, stem, w0,
    (stage, i, inC, stride) => {
      const name = `layer${stage}.${i}`;
      const w = reader.width(`${name}.conv1`);
      let body: Layer[];
      let outC: number;
      if (bottleneck) {
        outC = reader.width(`${name}.conv3`);
        body = [
          reader.conv(`${name}.conv1`, w, inC, 1, 1), reader.bn(`${name}.bn1`, w), RELU,
          reader.conv(`${name}.conv2`, w, w, 3, stride), reader.bn(`${name}.bn2`, w), RELU,
          reader.conv(`${name}.conv3`, outC, w, 1, 1), reader.bn(`${name}.bn3`, outC),
        ];
      } else {
        outC = w;
        body = [reader.conv(`${name}.conv1`, w, inC, 3, stride), reader.bn(`${name}.bn1`, w), RELU, reader.conv(`${name}.conv2`, w, w, 3, 1), reader.bn(`${name}.bn2`, w)];
      }
      let shortcut: Layer[] = [];
      if (reader.has(`${name}.downsample.0.weight`)) {
        shortcut = [reader.conv(`${name}.downsample.0`, outC, inC, 1, stride), reader.bn(`${name}.downsample.1`, outC)];
      } else if (stride !== 1 || inC !== outC) {
        reader.missing(`${name}.downsample.0.weight`);
      }
      return { source: name, pre: [], body, shortcut, shortcutFrom: 'input', post: [RELU], outChannels: outC };
    },
    (c) => [{ op: 'avgpool' }, reader.linear('fc', c)],
    (units) => ({ depth: (bottleneck ? 3 : 2) * units.length + 2, shortcut: shortcutKind(units), block: bottleneck ? 'bottleneck' : 'basic' }),
    inputSize,
  );
};

const BUILDERS: Record<Family, Builder> = {
  'cifar-resnet': cifarResNet,
  'preact-resnet': preactResNet,
  'wide-resnet': wideResNet,
  'torchvision-resnet': torchvisionResNet,
};

/** One line saying what was recognised: `preact-resnet, depth 18, widths 64-128-256-512 (2-2-2-2 units), conv shortcuts, 10 classes, input 3x32x32`. */
export function describeNetwork(graph: NetworkGraph): string {
  const d = graph.description;
  const shortcut = { A: 'option-A shortcuts', B: 'option-B (1x1 conv + BN) shortcuts', conv: '1x1 conv shortcuts', none: 'identity shortcuts' }[d.shortcut];
  const wide = d.family === 'wide-resnet' ? ` (WRN-${d.depth}-${d.widths[0]! / 16})` : '';
  return `${d.family}${wide}, depth ${d.depth}, ${d.block} blocks, widths ${d.widths.join('-')} (${d.unitsPerStage.join('-')} units), `
    + `${shortcut}, ${d.classes} classes, input ${graph.inputShape.join('x')}`;
}
