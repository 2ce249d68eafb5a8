/**
 * Finding and loading a model from what a user typed: a shipped name (`resnet56`, `resnet110`), a model
 * directory (or its model.json), a PyTorch checkpoint (`.th`, `.pt`, `.pth`), or an http(s) URL to either.
 */
import { InputError } from '../util/errors.js';
import { packageRoot } from '../util/package-root.js';
import { fetchBytes, isNode } from '../util/runtime.js';
import { importCheckpoint } from './checkpoint/resnet.js';
import { decodeModel, encodeModel, type ModelJson } from './format.js';
import { ResNetModel } from './model.js';

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

const CHECKPOINT_EXTENSION = /\.(th|pt|pth|tar)$/i;

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
      return importCheckpointBytes(await fetchBytes(url, 'checkpoint'), url.toString());
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
  if (stat.isDirectory()) return loadModelJsonFromDisk(join(path, 'model.json'));
  if (path.endsWith('.json')) return loadModelJsonFromDisk(path, dirname(path));
  return importCheckpointBytes(new Uint8Array(await fs.readFile(path)), path);
}

function importCheckpointBytes(bytes: Uint8Array, source: string): ResNetModel {
  return new ResNetModel(importCheckpoint(bytes, baseName(source)), { name: modelNameFromCheckpoint(source) });
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new InputError(`${where}: invalid JSON (${(err as Error).message})`);
  }
}

function weightPaths(json: unknown, where: string): string[] {
  const manifest = (json as Partial<ModelJson>)?.weightsManifest;
  if (!Array.isArray(manifest)) throw new InputError(`${where}: model.json has no weightsManifest`);
  return manifest.flatMap((group) => group.paths ?? []);
}

async function loadModelJsonFromDisk(jsonPath: string, dir?: string): Promise<ResNetModel> {
  const fs = await import('node:fs/promises');
  const { dirname, join } = await import('node:path');
  let text: string;
  try {
    text = await fs.readFile(jsonPath, 'utf8');
  } catch {
    throw new InputError(`model ${dirname(jsonPath)}: no model.json in this directory`);
  }
  const json = parseJson(text, jsonPath);
  const base = dir ?? dirname(jsonPath);
  const files = await Promise.all(
    weightPaths(json, jsonPath).map(async (p) => {
      try {
        return new Uint8Array(await fs.readFile(join(base, p)));
      } catch {
        throw new InputError(`${jsonPath}: weights file ${p} is missing`);
      }
    }),
  );
  return decodeModel(json, files, jsonPath);
}

async function loadModelJsonFromUrl(url: URL): Promise<ResNetModel> {
  if (url.protocol === 'file:' && isNode) {
    const { fileURLToPath } = await import('node:url');
    return loadModelJsonFromDisk(fileURLToPath(url));
  }
  const where = url.toString();
  const json = parseJson(new TextDecoder().decode(await fetchBytes(url, 'model.json')), where);
  const files = await Promise.all(weightPaths(json, where).map((p) => fetchBytes(new URL(p, url), 'model weights')));
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
