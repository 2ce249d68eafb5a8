/**
 * Finding and loading a model from what a user typed: a shipped name (`resnet56`, `resnet110`), a model
 * directory (or its model.json), a PyTorch checkpoint (`.th`, `.pt`, `.pth`), or an http(s) URL to either.
 */
import { InputError } from '../util/errors.js';
import { packageRoot } from '../util/package-root.js';
import { readRegularFile } from '../util/read-file.js';
import { fetchBytes, isNode } from '../util/runtime.js';
import { decodeModel, encodeModel, manifestWeights, type ModelJson } from './format.js';
import { modelFromStateDict, readWeightsFile } from './from-state-dict.js';
import type { ResNetModel } from './model.js';

/** Models that ship inside the package under models/<name>/. */
export const SHIPPED_MODELS = ['resnet56', 'resnet110'] as const;

let shippedModelsBase = new URL('models/', packageRoot);

/**
 * Where shipped models are found: `<base>/<name>/model.json`. By default the package's own models/
 * folder (next to dist/ on disk, or on whatever server serves the package); a page that serves the
 * models elsewhere (a CDN, its own folder) says so here.
 */
export function setShippedModelsBase(base: URL | string): void {
  shippedModelsBase = new URL(base, globalThis.location?.href);
}

/** The model.json URL of shipped model `name` in the folder `base` (default: see setShippedModelsBase). */
export function shippedModelUrl(name: string, base: URL | string = shippedModelsBase): URL {
  const folder = new URL(base, globalThis.location?.href);
  return new URL(`${name}/model.json`, folder.href.endsWith('/') ? folder : `${folder.href}/`);
}

/**
 * A loader that loads each key once: later and concurrent requests for a key share its load, and a
 * failed load is forgotten so that the next request tries again. `source` (default: the key) is what
 * loadModel is given.
 */
export function modelCache(): (key: string, source?: string | URL) => Promise<ResNetModel> {
  const models = new Map<string, Promise<ResNetModel>>();
  return (key, source = key) => {
    let loading = models.get(key);
    if (!loading) {
      loading = loadModel(source);
      models.set(key, loading);
      loading.catch(() => models.delete(key));
    }
    return loading;
  };
}

const CHECKPOINT_EXTENSION = /\.(th|pt|pth|tar|safetensors)$/i;

/** The largest checkpoint read or downloaded (a ResNet-110 checkpoint is 7 MB, ResNet-1202 78 MB). */
export const MAX_CHECKPOINT_BYTES = 512 * 2 ** 20;
/** The largest model.json read or downloaded (a ResNet-110 manifest is tens of kilobytes). */
export const MAX_MANIFEST_BYTES = 16 * 2 ** 20;

function baseName(path: string): string {
  return path.replace(/[?#].*$/, '').replace(/\/+$/, '').split(/[\\/]/).pop() ?? path;
}

function modelNameFromCheckpoint(path: string): string {
  return baseName(path).replace(CHECKPOINT_EXTENSION, '');
}

/** Load a model from a shipped name, a directory, a model.json, a checkpoint, or a URL. */
export async function loadModel(spec: string | URL): Promise<ResNetModel> {
  const text = spec.toString();
  if (!text) throw new InputError('no model given (use a shipped name such as resnet56, a model directory, or a .th checkpoint)');
  if ((SHIPPED_MODELS as readonly string[]).includes(text)) {
    return loadModelJsonFromUrl(shippedModelUrl(text));
  }
  if (spec instanceof URL || /^(https?|file):\/\//i.test(text)) {
    const url = new URL(text);
    if (url.protocol === 'file:' && isNode) {
      const { fileURLToPath } = await import('node:url');
      return loadModel(fileURLToPath(url));
    }
    if (CHECKPOINT_EXTENSION.test(url.pathname)) {
      return importCheckpointBytes(await fetchBytes(url, 'checkpoint', MAX_CHECKPOINT_BYTES), url.toString());
    }
    return loadModelJsonFromUrl(url.pathname.endsWith('.json') ? url : new URL(`${url.pathname.replace(/\/?$/, '/')}model.json`, url));
  }
  if (!isNode) throw new InputError(`model ${text}: not a shipped model name or URL (no file system here)`);
  return loadModelFromPath(text);
}

async function loadModelFromPath(path: string): Promise<ResNetModel> {
  const fs = await import('node:fs/promises');
  const { join, dirname } = await import('node:path');
  let stat;
  try {
    stat = await fs.stat(path);
  } catch {
    throw new InputError(
      `model ${path}: no such file or directory (expected ${SHIPPED_MODELS.join(', ')}, a model directory, or a .th checkpoint)`,
    );
  }
  if (stat.isDirectory()) return loadModelJsonFromDisk(join(path, 'model.json'), path);
  if (path.endsWith('.json')) return loadModelJsonFromDisk(path, dirname(path));
  return importCheckpointBytes(await readRegularFile(path, MAX_CHECKPOINT_BYTES, `model ${path}`), path);
}

/**
 * The model in a checkpoint's bytes, as loadModel imports a checkpoint file or URL; `source` (a path, URL
 * or file name) names it in errors and gives the model its name. The demo page uses it for a checkpoint
 * chosen from disk, so both recognise the same architectures.
 */
export function importCheckpointBytes(bytes: Uint8Array, source: string): ResNetModel {
  return modelFromStateDict(readWeightsFile(bytes, baseName(source)), baseName(source), {}, { name: modelNameFromCheckpoint(source) });
}



function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new InputError(`${where}: invalid JSON (${(err as Error).message})`);
  }
}

/**
 * A model directory's model.json and weights. The manifest may name only files inside `dir`: no
 * absolute paths, no `..` out of it, and no symbolic link that resolves outside it. Each weight file is
 * read only up to what the manifest still expects.
 */
async function loadModelJsonFromDisk(jsonPath: string, dir: string): Promise<ResNetModel> {
  const fs = await import('node:fs/promises');
  const { isAbsolute, relative, resolve } = await import('node:path');
  let text: Uint8Array;
  try {
    text = await readRegularFile(jsonPath, MAX_MANIFEST_BYTES);
  } catch (err) {
    if (err instanceof InputError && err.message.endsWith(': no such file')) throw new InputError(`model ${dir}: no model.json in this directory`);
    throw err;
  }
  const json = parseJson(new TextDecoder().decode(text), jsonPath);
  const { paths, bytes } = manifestWeights(json, jsonPath);
  const realDir = await fs.realpath(dir);
  const inside = (root: string, path: string): boolean => {
    const rel = relative(root, path);
    return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
  };
  let remaining = bytes;
  const files: Uint8Array[] = [];
  for (const p of paths) {
    if (isAbsolute(p) || p.includes('\\') || !inside(resolve(dir), resolve(dir, p))) {
      throw new InputError(`${jsonPath}: weights file ${p} is outside the model directory`);
    }
    let real: string;
    try {
      real = await fs.realpath(resolve(dir, p));
    } catch {
      throw new InputError(`${jsonPath}: weights file ${p} is missing`);
    }
    if (!inside(realDir, real)) throw new InputError(`${jsonPath}: weights file ${p} links outside the model directory`);
    const file = await readRegularFile(real, remaining, `${jsonPath}: weights file ${p}`);
    remaining -= file.length;
    files.push(file);
  }
  return decodeModel(json, files, jsonPath);
}

/** A model.json by URL and its weights, which must come from the same origin as the manifest. */
async function loadModelJsonFromUrl(url: URL): Promise<ResNetModel> {
  if (url.protocol === 'file:' && isNode) {
    const { fileURLToPath } = await import('node:url');
    const { dirname } = await import('node:path');
    const path = fileURLToPath(url);
    return loadModelJsonFromDisk(path, dirname(path));
  }
  const where = url.toString();
  const json = parseJson(new TextDecoder().decode(await fetchBytes(url, 'model.json', MAX_MANIFEST_BYTES)), where);
  const { paths, bytes } = manifestWeights(json, where);
  let remaining = bytes;
  const files: Uint8Array[] = [];
  for (const p of paths) {
    let weightsUrl: URL;
    try {
      weightsUrl = new URL(p, url);
    } catch {
      throw new InputError(`${where}: weights path ${p} is not a URL`);
    }
    if (weightsUrl.origin !== url.origin) throw new InputError(`${where}: weights ${weightsUrl} are not at the manifest's origin ${url.origin}`);
    const file = await fetchBytes(weightsUrl, 'model weights', remaining);
    remaining -= file.length;
    files.push(file);
  }
  return decodeModel(json, files, where);
}

/**
 * Write a model directory (model.json + weights.bin). Files are written under temporary names and
 * renamed into place, so an interrupted save never leaves a half-written model.
 */
export async function saveModel(model: ResNetModel, dir: string, source?: ModelJson['source']): Promise<void> {
  const fs = await import('node:fs/promises');
  const { join } = await import('node:path');
  const { json, weights } = encodeModel(model, source);
  await fs.mkdir(dir, { recursive: true });
  const suffix = `.tmp-${process.pid}`;
  const weightsPath = join(dir, 'weights.bin');
  const jsonPath = join(dir, 'model.json');
  try {
    await fs.writeFile(weightsPath + suffix, weights);
    await fs.writeFile(jsonPath + suffix, JSON.stringify(json, null, 1) + '\n');
    await fs.rename(weightsPath + suffix, weightsPath);
    await fs.rename(jsonPath + suffix, jsonPath);
  } finally {
    await fs.rm(weightsPath + suffix, { force: true });
    await fs.rm(jsonPath + suffix, { force: true });
  }
}
