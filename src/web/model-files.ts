/**
 * A model chosen from disk in a browser: a PyTorch checkpoint (zip or legacy .th/.pt/.pth), or a model
 * directory (model.json and its weight files, picked as a folder or as several files). The bytes go
 * through the package's own import and decode functions, so every architecture they recognise works
 * here as it does in `loadModel`. A manifest may only name files that were chosen with it, by their
 * path relative to model.json: no `..`, no absolute paths.
 */
import { importCheckpoint } from '../model/checkpoint/resnet.js';
import { decodeModel } from '../model/format.js';
import { ResNetModel } from '../model/model.js';
import { InputError } from '../util/errors.js';

export interface ChosenFile {
  /** Path as the picker gives it: `dir/model.json` for a folder, the bare name for single files. */
  path: string;
  bytes: Uint8Array;
}

const CHECKPOINT = /\.(th|pt|pth|tar)$/i;

function parseManifest(bytes: Uint8Array, where: string): { json: unknown; paths: string[] } {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    throw new InputError(`${where}: invalid JSON (${(err as Error).message})`);
  }
  const manifest = (json as { weightsManifest?: unknown })?.weightsManifest;
  if (!Array.isArray(manifest)) throw new InputError(`${where}: model.json has no weightsManifest`);
  const paths = manifest.flatMap((group: { paths?: unknown }) => (Array.isArray(group?.paths) ? group.paths : []));
  for (const p of paths) {
    if (typeof p !== 'string' || p === '' || p.startsWith('/') || p.includes('\\') || p.split('/').includes('..') || /^[a-z]+:/i.test(p)) {
      throw new InputError(`${where}: weights path ${JSON.stringify(p)} is not a file beside model.json`);
    }
  }
  return { json, paths };
}

/** The model in `files` (see the module comment). Throws InputError naming the file at fault. */
export function modelFromFiles(files: readonly ChosenFile[]): ResNetModel {
  if (files.length === 0) throw new InputError('no model file chosen');
  const json = files.find((f) => /\.json$/i.test(f.path));
  if (json) {
    const dir = json.path.slice(0, json.path.lastIndexOf('/') + 1);
    const { json: manifest, paths } = parseManifest(json.bytes, json.path);
    const byPath = new Map(files.map((f) => [f.path, f.bytes]));
    const weights = paths.map((p) => {
      const bytes = byPath.get(dir + p.replace(/^\.\//, ''));
      if (!bytes) throw new InputError(`${json.path}: weights file ${p} was not chosen with it (choose the whole model folder)`);
      return bytes;
    });
    return decodeModel(manifest, weights, json.path);
  }
  if (files.length > 1) throw new InputError(`${files.length} files chosen without a model.json: choose one checkpoint, or a model folder`);
  const [file] = files;
  const name = file.path.split('/').pop()!;
  if (!CHECKPOINT.test(name) && !/\.(json)$/i.test(name)) {
    throw new InputError(`${name}: not a PyTorch checkpoint (.th, .pt, .pth) nor a model.json`);
  }
  return new ResNetModel(importCheckpoint(file.bytes, name), { name: name.replace(CHECKPOINT, '') });
}
