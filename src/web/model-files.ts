/**
 * A model chosen from disk in a browser: a PyTorch checkpoint or .safetensors file, or a model directory
 * (model.json and its weight files, picked as a folder or as several files). The bytes go through the
 * package's own import and decode functions (importCheckpointBytes, decodeModel), so every architecture
 * `loadModel` recognises works here too. Sizes are checked before anything is read, with loadModel's
 * limits, and a manifest may only name files that were chosen with it, by their path relative to
 * model.json: no `..`, no absolute paths, no URLs.
 */
import { decodeModel, manifestWeights } from '../model/format.js';
import { importCheckpointBytes, MAX_CHECKPOINT_BYTES, MAX_MANIFEST_BYTES } from '../model/load.js';
import type { ResNetModel } from '../model/model.js';
import { InputError } from '../util/errors.js';

export interface ChosenFile {
  /** Path as the picker gives it: `dir/model.json` for a folder, the bare name for single files. */
  path: string;
  bytes: Uint8Array;
}

/**
 * A file as a picker hands it over, before anything is read: its path (a folder picker's
 * webkitRelativePath, else the name) and the file itself (a DOM File, which a worker can be sent).
 */
export interface PickedFile {
  path: string;
  file: Pick<Blob, 'size' | 'arrayBuffer'>;
}

const pathOf = (f: PickedFile) => f.path;
const baseName = (path: string) => path.slice(path.lastIndexOf('/') + 1);
const dirOf = (path: string) => path.slice(0, path.lastIndexOf('/') + 1);
const mib = (bytes: number) => `${bytes / 2 ** 20} MiB`;

/** The manifest among the chosen paths: the one named model.json, or the only .json; undefined if none. */
function manifestPath(paths: readonly string[]): string | undefined {
  const named = paths.filter((p) => baseName(p) === 'model.json');
  if (named.length > 1) throw new InputError(`${named.length} model.json files chosen (${named.join(', ')}): choose one model folder`);
  if (named.length === 1) return named[0];
  const json = paths.filter((p) => /\.json$/i.test(p));
  if (json.length > 1) throw new InputError(`${json.length} .json files chosen and none is model.json: choose one model folder`);
  return json[0];
}

function parseJson(bytes: Uint8Array, where: string): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    throw new InputError(`${where}: invalid JSON (${(err as Error).message})`);
  }
}

/** The weight files a manifest names, as paths beside it, and the bytes they must hold together. */
function manifestFiles(json: unknown, where: string): { paths: string[]; bytes: number } {
  const { paths, bytes } = manifestWeights(json, where);
  const dir = dirOf(where);
  for (const p of paths) {
    if (p.startsWith('/') || p.includes('\\') || p.split('/').includes('..') || /^[a-z][a-z0-9+.-]*:/i.test(p)) {
      throw new InputError(`${where}: weights path ${JSON.stringify(p)} is not a file beside model.json`);
    }
  }
  return { paths: paths.map((p) => dir + p.replace(/^(\.\/)+/, '')), bytes };
}

async function read({ path, file }: PickedFile, limit: number, what: string): Promise<Uint8Array> {
  if (file.size > limit) throw new InputError(`${path}: ${file.size} bytes, more than the ${mib(limit)} a ${what} may have`);
  const bytes = new Uint8Array(await file.arrayBuffer());
  if (bytes.length !== file.size) throw new InputError(`${path}: read ${bytes.length} bytes of ${file.size} (the file changed while it was read)`);
  return bytes;
}

/**
 * Read the model among the picked files: with a model.json, the manifest and only the weight files it
 * names (a folder may hold much else), after checking that they were all chosen and hold exactly the
 * bytes the manifest describes; without one, a single checkpoint. Nothing larger than loadModel would
 * read is read. Throws InputError naming the file at fault.
 */
export async function readModelFiles(picked: readonly PickedFile[]): Promise<ChosenFile[]> {
  if (picked.length === 0) throw new InputError('no model file chosen');
  const jsonPath = manifestPath(picked.map(pathOf));
  if (!jsonPath) {
    if (picked.length > 1) throw new InputError(`${picked.length} files chosen without a model.json: choose one checkpoint, or a model folder`);
    return [{ path: pathOf(picked[0]), bytes: await read(picked[0], MAX_CHECKPOINT_BYTES, 'checkpoint') }];
  }
  const jsonFile = picked.find((f) => pathOf(f) === jsonPath)!;
  const jsonBytes = await read(jsonFile, MAX_MANIFEST_BYTES, 'model.json');
  const { paths, bytes } = manifestFiles(parseJson(jsonBytes, jsonPath), jsonPath);
  const byPath = new Map(picked.map((f) => [pathOf(f), f]));
  const weights = paths.map((p) => {
    const file = byPath.get(p);
    if (!file) throw new InputError(`${jsonPath}: weights file ${p.slice(dirOf(jsonPath).length)} was not chosen with it (choose the whole model folder)`);
    return file;
  });
  const total = weights.reduce((n, f) => n + f.file.size, 0);
  if (total !== bytes) throw new InputError(`${jsonPath}: the weight files hold ${total} bytes, the manifest describes ${bytes}`);
  const chosen: ChosenFile[] = [{ path: jsonPath, bytes: jsonBytes }];
  for (const file of weights) chosen.push({ path: pathOf(file), bytes: await read(file, bytes, 'weights file') });
  return chosen;
}

/** The model in `files` (see the module comment). Throws InputError naming the file at fault. */
export function modelFromFiles(files: readonly ChosenFile[]): ResNetModel {
  if (files.length === 0) throw new InputError('no model file chosen');
  const jsonPath = manifestPath(files.map((f) => f.path));
  if (jsonPath) {
    const json = parseJson(files.find((f) => f.path === jsonPath)!.bytes, jsonPath);
    const { paths } = manifestFiles(json, jsonPath);
    const byPath = new Map(files.map((f) => [f.path, f.bytes]));
    const weights = paths.map((p) => {
      const bytes = byPath.get(p);
      if (!bytes) throw new InputError(`${jsonPath}: weights file ${p.slice(dirOf(jsonPath).length)} was not chosen with it (choose the whole model folder)`);
      return bytes;
    });
    return decodeModel(json, weights, jsonPath);
  }
  if (files.length > 1) throw new InputError(`${files.length} files chosen without a model.json: choose one checkpoint, or a model folder`);
  return importCheckpointBytes(files[0].bytes, baseName(files[0].path));
}
