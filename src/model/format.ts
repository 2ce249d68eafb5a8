/**
 * The package's own model format, following the tfjs weights-manifest convention:
 *
 *   <dir>/model.json    architecture, normalization, classes, measured accuracy, weightsManifest
 *   <dir>/weights.bin   all tensors, float32 little-endian, concatenated in manifest order
 *
 * Tensor names are the PyTorch state-dict keys without the `module.` prefix (`layer2.0.bn1.running_var`),
 * so a manifest reads like the checkpoint it came from, and loading recognises the network from them as
 * import did. formatVersion 1 is the paper's family (CIFAR ResNet, option A, 32x32), still written for
 * it; formatVersion 2 is any family of recognise.ts and records the family, what was recognised and
 * the input size. The same files load from disk in Node and by URL
 * (fetch) in browsers and edge runtimes.
 */
import { InputError } from '../util/errors.js';
import { stateDictToResNet } from './checkpoint/resnet.js';
import { modelFromStateDict } from './from-state-dict.js';
import type { Family, NetworkDescription } from './graph.js';
import { ResNetModel, type AccuracyRecord } from './model.js';
import { FAMILIES } from './recognise.js';
import type { BatchNormParams, Normalization, ResNetParams, StateDict } from './types.js';
import { concatBytes } from '../util/bytes.js';

export const MODEL_FORMAT = 'resnet-stability/cifar-resnet';
export const MODEL_FORMAT_VERSION = 1;
/** The version written for networks outside the paper's family. */
export const GRAPH_FORMAT_VERSION = 2;

export interface WeightEntry {
  name: string;
  shape: number[];
  dtype: 'float32';
}

export interface ModelJson {
  format: typeof MODEL_FORMAT;
  formatVersion: number;
  name: string;
  architecture: {
    family: 'cifar-resnet';
    depth: number;
    n: number;
    shortcut: 'A';
    stageChannels: number[];
    inputShape: [number, number, number];
    numClasses: number;
  } | (Omit<NetworkDescription, 'classes'> & { inputShape: [number, number, number]; numClasses: number });
  normalization: Normalization & { inputRange: [0, 1] };
  classes: string[];
  accuracy?: AccuracyRecord;
  source?: { checkpoint: string; sha256?: string };
  weightsManifest: { paths: string[]; weights: WeightEntry[] }[];
}

function pushBatchNorm(dict: StateDict, prefix: string, bn: BatchNormParams): void {
  const c = bn.weight.length;
  dict.set(`${prefix}.weight`, { shape: [c], data: bn.weight });
  dict.set(`${prefix}.bias`, { shape: [c], data: bn.bias });
  dict.set(`${prefix}.running_mean`, { shape: [c], data: bn.runningMean });
  dict.set(`${prefix}.running_var`, { shape: [c], data: bn.runningVar });
}

/** The parameters as a state dict in PyTorch key order (without the `module.` prefix). */
export function resNetToStateDict(params: ResNetParams): StateDict {
  const dict: StateDict = new Map();
  const { stem, units, classifier } = params;
  dict.set('conv1.weight', { shape: [stem.conv.outChannels, stem.conv.inChannels, 3, 3], data: stem.conv.weight });
  pushBatchNorm(dict, 'bn1', stem.bn);
  for (const unit of units) {
    const prefix = `layer${unit.stage}.${unit.indexInStage}`;
    for (const [conv, bn, i] of [[unit.conv1, unit.bn1, 1], [unit.conv2, unit.bn2, 2]] as const) {
      dict.set(`${prefix}.conv${i}.weight`, { shape: [conv.outChannels, conv.inChannels, 3, 3], data: conv.weight });
      pushBatchNorm(dict, `${prefix}.bn${i}`, bn);
    }
  }
  dict.set('linear.weight', { shape: [classifier.outFeatures, classifier.inFeatures], data: classifier.weight });
  dict.set('linear.bias', { shape: [classifier.outFeatures], data: classifier.bias });
  return dict;
}

/** Serialize a model: the model.json object and the weights file contents. */
export function encodeModel(
  model: ResNetModel,
  source?: ModelJson['source'],
): { json: ModelJson; weights: Uint8Array } {
  const dict = model.hasParams ? resNetToStateDict(model.params) : model.weights;
  if (!dict) throw new Error(`model ${model.name} has neither params nor the state dict of its graph`);
  const entries: WeightEntry[] = [];
  let total = 0;
  for (const [name, tensor] of dict) {
    entries.push({ name, shape: tensor.shape, dtype: 'float32' });
    total += tensor.data.length;
  }
  const floats = new Float32Array(total);
  let offset = 0;
  for (const tensor of dict.values()) {
    floats.set(tensor.data, offset);
    offset += tensor.data.length;
  }
  const { classes: numClasses, ...description } = model.graph.description;
  const json: ModelJson = {
    format: MODEL_FORMAT,
    formatVersion: model.hasParams ? MODEL_FORMAT_VERSION : GRAPH_FORMAT_VERSION,
    name: model.name,
    architecture: model.hasParams
      ? {
        family: 'cifar-resnet',
        depth: model.params.depth,
        n: model.params.n,
        shortcut: 'A',
        stageChannels: [16, 32, 64],
        inputShape: [3, 32, 32],
        numClasses: model.params.numClasses,
      }
      : { ...description, inputShape: [...model.inputShape], numClasses },
    normalization: { ...model.normalization, inputRange: [0, 1] },
    classes: model.classes,
    ...(model.accuracy ? { accuracy: model.accuracy } : {}),
    ...(source ? { source } : {}),
    weightsManifest: [{ paths: ['weights.bin'], weights: entries }],
  };
  return { json, weights: new Uint8Array(floats.buffer) };
}

/**
 * Rebuild a model from its model.json and the weight files named in its manifest (in order).
 * `where` names the model in error messages.
 */
export function decodeModel(json: unknown, weightFiles: Uint8Array[], where: string): ResNetModel {
  const manifest = validateModelJson(json, where);
  const { bytes: expectedBytes } = manifestWeights(manifest, where);
  const bytes = concatBytes(weightFiles);
  const entries = manifest.weightsManifest.flatMap((group) => group.weights);
  if (bytes.length !== expectedBytes) {
    throw new InputError(`${where}: weights hold ${bytes.length} bytes, the manifest describes ${expectedBytes}`);
  }
  const dict: StateDict = new Map();
  let offset = 0;
  for (const entry of entries) {
    const count = entry.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(count);
    new Uint8Array(data.buffer).set(bytes.subarray(offset, offset + 4 * count));
    offset += 4 * count;
    dict.set(entry.name, { shape: entry.shape, data });
  }
  const checked = checkInfo(manifest, where).normalization;
  const info = { name: manifest.name, normalization: checked, classes: manifest.classes, accuracy: manifest.accuracy };
  if (manifest.formatVersion === GRAPH_FORMAT_VERSION) {
    const arch = manifest.architecture as Partial<NetworkDescription> & { inputShape?: unknown };
    if (typeof arch.family !== 'string' || !(FAMILIES as readonly string[]).includes(arch.family)) {
      throw new InputError(`${where}: architecture.family ${JSON.stringify(arch.family)} is not one of ${FAMILIES.join(', ')}`);
    }
    const shape = arch.inputShape;
    if (!Array.isArray(shape) || shape.length !== 3 || shape[0] !== 3 || !shape.slice(1).every((d) => Number.isSafeInteger(d) && d >= 1 && d <= MAX_INPUT_SIDE)) {
      throw new InputError(`${where}: architecture.inputShape ${JSON.stringify(shape)} is not [3, H, W] with 1 <= H, W <= ${MAX_INPUT_SIDE}`);
    }
    const model = modelFromStateDict(dict, where, { arch: arch.family as Family, inputSize: [shape[1] as number, shape[2] as number] }, info);
    if (model.depth !== arch.depth) throw new InputError(`${where}: architecture says depth ${arch.depth}, weights are depth ${model.depth}`);
    return model;
  }
  const params = stateDictToResNet(dict, where);
  if (params.depth !== manifest.architecture.depth) {
    throw new InputError(`${where}: architecture says depth ${manifest.architecture.depth}, weights are depth ${params.depth}`);
  }
  return new ResNetModel(params, info);
}

/** The largest input height or width a model may declare (ImageNet models take 224). */
export const MAX_INPUT_SIDE = 4096;

/** Checks normalization and class names against the manifest. */
function checkInfo(manifest: ModelJson, where: string): { normalization: ModelJson['normalization']; classes: string[] } {
  for (const [name, value] of Object.entries({ 'normalization.mean': manifest.normalization.mean, 'normalization.std': manifest.normalization.std })) {
    if (!Array.isArray(value) || value.length !== 3 || !value.every((v) => typeof v === 'number' && Number.isFinite(v))) {
      throw new InputError(`${where}: ${name} must be three finite numbers`);
    }
  }
  if (manifest.normalization.std.some((s) => s <= 0)) throw new InputError(`${where}: normalization.std must be positive`);
  const outputs = classifierOutputs(manifest);
  if (outputs !== undefined && manifest.classes.length !== outputs) {
    throw new InputError(`${where}: classes lists ${manifest.classes.length} names, the classifier has ${outputs} outputs`);
  }
  return { normalization: { mean: manifest.normalization.mean, std: manifest.normalization.std } as ModelJson['normalization'], classes: manifest.classes };
}

/** Outputs of the classifier (`linear` or `fc`) as the manifest lists its weight. */
function classifierOutputs(manifest: ModelJson): number | undefined {
  const entry = manifest.weightsManifest.flatMap((g) => g.weights).find((w) => /^(module\.)?(linear|fc)\.weight$/.test(w.name));
  return entry?.shape.length === 2 ? entry.shape[0] : undefined;
}

function validateModelJson(json: unknown, where: string): ModelJson {
  const m = json as Partial<ModelJson> | null;
  if (!m || typeof m !== 'object') throw new InputError(`${where}: model.json is not a JSON object`);
  if (m.format !== MODEL_FORMAT) throw new InputError(`${where}: model.json format is ${JSON.stringify(m.format)}, expected "${MODEL_FORMAT}"`);
  if (m.formatVersion !== MODEL_FORMAT_VERSION && m.formatVersion !== GRAPH_FORMAT_VERSION) throw new InputError(`${where}: unsupported model.json formatVersion ${m.formatVersion}`);
  if (!Array.isArray(m.weightsManifest) || m.weightsManifest.length === 0) throw new InputError(`${where}: model.json has no weightsManifest`);
  if (!m.architecture || typeof m.architecture.depth !== 'number') throw new InputError(`${where}: model.json has no architecture.depth`);
  if (!m.normalization) throw new InputError(`${where}: model.json has no normalization`);
  if (!Array.isArray(m.classes)) throw new InputError(`${where}: model.json has no classes`);
  const seen = new Set<string>();
  for (const [i, name] of m.classes.entries()) {
    if (typeof name !== 'string' || name === '') throw new InputError(`${where}: classes[${i}] is not a non-empty string`);
    if (seen.has(name)) throw new InputError(`${where}: classes[${i}] repeats the class name ${JSON.stringify(name)}`);
    seen.add(name);
  }
  const numClasses = m.architecture.numClasses;
  if (numClasses !== undefined && numClasses !== m.classes.length) {
    throw new InputError(`${where}: classes lists ${m.classes.length} names, architecture.numClasses says ${numClasses}`);
  }
  return m as ModelJson;
}

/** The most weight bytes a manifest may describe (ResNet-1202, the deepest CIFAR ResNet, has 78 MB). */
export const MAX_WEIGHT_BYTES = 512 * 2 ** 20;

/**
 * The weight files a manifest names, in order, and the bytes they hold together, after checking every
 * group and entry: `paths` are strings, each entry has a string `name`, dtype float32 and a `shape` of
 * non-negative integers, and the total is at most MAX_WEIGHT_BYTES. Readers use the total to cap what
 * they read or download. Throws InputError naming `where` and the field at fault.
 */
export function manifestWeights(json: unknown, where: string): { paths: string[]; bytes: number } {
  const manifest = (json as Partial<ModelJson> | null)?.weightsManifest;
  if (!Array.isArray(manifest) || manifest.length === 0) throw new InputError(`${where}: model.json has no weightsManifest`);
  const paths: string[] = [];
  let bytes = 0;
  for (const [g, group] of manifest.entries()) {
    const field = `weightsManifest[${g}]`;
    if (!group || typeof group !== 'object') throw new InputError(`${where}: ${field} is not an object`);
    if (!Array.isArray(group.paths) || !group.paths.every((p) => typeof p === 'string' && p !== '')) {
      throw new InputError(`${where}: ${field}.paths is not a list of file names`);
    }
    if (!Array.isArray(group.weights)) throw new InputError(`${where}: ${field}.weights is not a list`);
    paths.push(...group.paths);
    for (const [w, entry] of group.weights.entries()) {
      const at = `${field}.weights[${w}]`;
      if (!entry || typeof entry !== 'object' || typeof entry.name !== 'string') throw new InputError(`${where}: ${at}.name is not a string`);
      if (entry.dtype !== 'float32') throw new InputError(`${where}: ${entry.name} has dtype ${JSON.stringify(entry.dtype)}, expected float32`);
      const shape: unknown = entry.shape;
      if (!Array.isArray(shape) || shape.length > 8 || !shape.every((n) => Number.isSafeInteger(n) && n >= 0)) {
        throw new InputError(`${where}: ${entry.name}: shape ${JSON.stringify(shape)} is not a list of at most 8 non-negative integers`);
      }
      bytes += 4 * (shape as number[]).reduce((a, b) => a * b, 1);
      if (bytes > MAX_WEIGHT_BYTES) throw new InputError(`${where}: the manifest describes more than ${MAX_WEIGHT_BYTES} bytes of weights`);
    }
  }
  return { paths, bytes };
}

