/**
 * Reading the state dict out of a PyTorch checkpoint (`torch.save` output) without Python or torch.
 *
 * Two container formats exist:
 * - zip (PyTorch >= 1.6): `<prefix>/data.pkl` holds the pickled object, `<prefix>/data/<key>` the raw
 *   bytes of each storage, `<prefix>/byteorder` their byte order ("little" when absent);
 * - legacy: five pickles in a row (magic number, protocol version 1001, sys info, the object, the list of
 *   storage keys), then for each key in that list an 8-byte element count followed by the raw elements.
 * In both, the object pickle refers to storages by persistent ids `('storage', torch.XStorage, key,
 * location, numel[, view])`, and tensors are `_rebuild_tensor[_v2](storage, offset, size, stride, ...)`.
 */
import { InputError } from '../../util/errors.js';
import type { NamedTensor, StateDict } from '../types.js';
import { CheckpointError } from './errors.js';
import { PyFunction, PyTuple, pyTypeName, unpickle, type PyObject, type PyValue } from './pickle.js';
import { isZip, ZipArchive } from './zip.js';

/** Element types of torch storages; only the floating-point ones can become float32 tensors. */
type DType = 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

const ELEMENT_BYTES: Record<DType, number> = {
  float32: 4, float64: 8, float16: 2, bfloat16: 2, int64: 8, int32: 4, int16: 2, int8: 1, uint8: 1, bool: 1,
};

/** A storage class named in a checkpoint (`torch.FloatStorage`...). */
class StorageType implements PyObject {
  constructor(
    readonly pyType: string,
    readonly dtype: DType,
  ) {}
}

/** A storage referenced by a persistent id; its bytes live outside the pickle, under `key`. */
class StorageRef implements PyObject {
  readonly pyType = 'torch.Storage';
  constructor(
    readonly key: string,
    readonly dtype: DType,
    readonly numel: number,
  ) {}
}

/** A tensor as the pickle describes it: a strided view into a storage, not yet read. */
class TensorRef implements PyObject {
  readonly pyType = 'torch.Tensor';
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly size: readonly number[],
    readonly stride: readonly number[],
  ) {}
}

/** `value` as a non-negative safe integer, or a CheckpointError naming `what` it was meant to be. */
function count(value: PyValue | undefined, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new CheckpointError(`corrupt pickle: ${what} is not a non-negative integer`);
  }
  return value;
}

/** A tuple of non-negative integers (a size or a stride). */
function counts(value: PyValue | undefined, what: string): number[] {
  if (!(value instanceof PyTuple)) throw new CheckpointError(`corrupt tensor: ${what} is not a tuple`);
  return value.items.map((item) => count(item, what));
}

/** `_rebuild_tensor(storage, storage_offset, size, stride, ...)`; later arguments (grad flags, hooks) are irrelevant here. */
function rebuildTensor(args: readonly PyValue[]): TensorRef {
  const [storage, offset, size, stride] = args;
  if (!(storage instanceof StorageRef)) throw new CheckpointError('corrupt tensor: its storage is not a storage reference');
  const tensor = new TensorRef(storage, count(offset, 'storage offset'), counts(size, 'size'), counts(stride, 'stride'));
  if (tensor.size.length !== tensor.stride.length) throw new CheckpointError('corrupt tensor: size and stride differ in length');
  return tensor;
}

/** The whitelist: the only globals a checkpoint pickle may name, each a plain builder or marker. */
const TORCH_GLOBALS: ReadonlyMap<string, PyValue> = new Map<string, PyValue>([
  [
    'collections.OrderedDict',
    new PyFunction('collections.OrderedDict', (args) => {
      if (args.length !== 0) throw new CheckpointError('unsupported pickle: OrderedDict built from arguments');
      return new Map();
    }),
  ],
  ['torch._utils._rebuild_tensor', new PyFunction('torch._utils._rebuild_tensor', rebuildTensor)],
  ['torch._utils._rebuild_tensor_v2', new PyFunction('torch._utils._rebuild_tensor_v2', rebuildTensor)],
  // nn.Parameter(data, requires_grad, hooks) in a state dict saved with keep_vars=True: just the data.
  ['torch._utils._rebuild_parameter', new PyFunction('torch._utils._rebuild_parameter', (args) => args[0] ?? null)],
  ...(
    [
      ['FloatStorage', 'float32'], ['DoubleStorage', 'float64'], ['HalfStorage', 'float16'], ['BFloat16Storage', 'bfloat16'],
      ['LongStorage', 'int64'], ['IntStorage', 'int32'], ['ShortStorage', 'int16'], ['CharStorage', 'int8'],
      ['ByteStorage', 'uint8'], ['BoolStorage', 'bool'],
    ] as const
  ).map(([name, dtype]): [string, PyValue] => [`torch.${name}`, new StorageType(`torch.${name}`, dtype)]),
]);

/**
 * The persistent-id resolver for one checkpoint: turns `('storage', type, key, location, numel[, view])`
 * into a StorageRef and records it in `storages` by key. Storage views (found only in very old
 * legacy files) are not supported.
 */
function storageLoader(storages: Map<string, StorageRef>): (pid: PyValue) => PyValue {
  return (pid) => {
    const items = pid instanceof PyTuple ? pid.items : [];
    const [tag, type, key, , numel, view] = items;
    if (tag !== 'storage' || !(type instanceof StorageType) || typeof key !== 'string' || items.length < 5) {
      throw new CheckpointError('corrupt pickle: persistent id is not a storage reference');
    }
    if (view !== undefined && view !== null) throw new CheckpointError(`unsupported legacy storage view in storage '${key}'`);
    const storage = storages.get(key) ?? new StorageRef(key, type.dtype, count(numel, `element count of storage '${key}'`));
    storages.set(key, storage);
    return storage;
  };
}

/** An element reader for float storages: (view, element index) -> value. */
type ElementReader = (view: DataView, index: number) => number;

/** Four bytes for reinterpreting bfloat16 bits, shifted into the high half, as a float32. */
const scratch = new DataView(new ArrayBuffer(4));

/** IEEE binary16 bits -> number (exact). */
function halfToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

function elementReader(dtype: DType, littleEndian: boolean): ElementReader | undefined {
  switch (dtype) {
    case 'float32':
      return (view, i) => view.getFloat32(4 * i, littleEndian);
    case 'float64':
      return (view, i) => view.getFloat64(8 * i, littleEndian);
    case 'float16':
      return (view, i) => halfToNumber(view.getUint16(2 * i, littleEndian));
    case 'bfloat16':
      return (view, i) => {
        scratch.setUint32(0, view.getUint16(2 * i, littleEndian) << 16);
        return scratch.getFloat32(0);
      };
    default:
      return undefined;
  }
}

/**
 * The largest storage read (a CIFAR ResNet's largest tensor is 64 x 64 x 3 x 3 floats, 144 KiB): a
 * bound on what a small file claiming a huge storage can make us allocate.
 */
const MAX_STORAGE_BYTES = 256 * 2 ** 20;
/** The largest data.pkl read: a state dict's pickle is tens of kilobytes. */
const MAX_PICKLE_BYTES = 64 * 2 ** 20;

/**
 * The number of elements of `tensor`, after checking that its size, stride and offset stay inside its
 * storage and that it has no more elements than the storage (a saved parameter never repeats elements
 * through zero strides), all before any byte is read or allocated.
 */
function checkedNumel(name: string, tensor: TensorRef): number {
  const { storage, offset, size, stride } = tensor;
  let numel = 1;
  for (const n of size) numel *= n;
  if (numel > storage.numel) {
    throw new CheckpointError(`tensor '${name}' of size [${size.join(',')}] has more elements than its storage '${storage.key}' (${storage.numel})`);
  }
  const last = size.reduce((end, n, d) => end + (n - 1) * stride[d]!, offset);
  if (numel > 0 && last >= storage.numel) {
    throw new CheckpointError(`tensor '${name}' reaches past the end of its storage '${storage.key}'`);
  }
  const bytes = storage.numel * ELEMENT_BYTES[storage.dtype];
  if (bytes > MAX_STORAGE_BYTES) {
    throw new CheckpointError(`storage '${storage.key}' of tensor '${name}' declares ${bytes} bytes, more than the ${MAX_STORAGE_BYTES} any CIFAR ResNet needs`);
  }
  return numel;
}

/**
 * Read a tensor's elements out of its storage bytes into a contiguous row-major Float32Array, honouring
 * the storage offset and strides (so transposed or sliced views come out as PyTorch would print them).
 * `numel` comes from checkedNumel.
 */
function readTensor(name: string, tensor: TensorRef, numel: number, bytes: Uint8Array, littleEndian: boolean): NamedTensor {
  const { storage, offset, size, stride } = tensor;
  const read = elementReader(storage.dtype, littleEndian)!;
  if (bytes.length < storage.numel * ELEMENT_BYTES[storage.dtype]) {
    throw new CheckpointError(`storage '${storage.key}' of tensor '${name}' is shorter than its ${storage.numel} elements`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const data = new Float32Array(numel);
  // Walk the output in row-major order with an odometer over the indices, tracking the storage position.
  const rank = size.length;
  const index = new Array<number>(rank).fill(0);
  let position = offset;
  for (let i = 0; i < numel; i++) {
    data[i] = read(view, position);
    for (let d = rank - 1; d >= 0; d--) {
      position += stride[d]!;
      if (++index[d]! < size[d]!) break;
      position -= stride[d]! * size[d]!;
      index[d] = 0;
    }
  }
  return { shape: [...size], data };
}

/**
 * The state dict inside the unpickled top-level object: its `state_dict` entry when it has one (the
 * usual training checkpoint `{'state_dict': ..., 'best_prec1': ...}`), else the object itself.
 * Entries named `*num_batches_tracked` are dropped; every other entry must be a floating-point tensor.
 */
function toStateDict(top: PyValue, storageBytes: (storage: StorageRef) => Uint8Array, littleEndian: boolean): StateDict {
  if (!(top instanceof Map)) throw new CheckpointError(`pickle is not a state dict (top-level object is a ${pyTypeName(top)})`);
  const inner = top.get('state_dict');
  const dict = inner === undefined ? top : inner;
  if (!(dict instanceof Map)) throw new CheckpointError(`pickle is not a state dict ('state_dict' is of type ${pyTypeName(dict)})`);
  const result: StateDict = new Map();
  for (const [key, value] of dict) {
    if (typeof key !== 'string') throw new CheckpointError(`pickle is not a state dict (it has a key of type ${pyTypeName(key)})`);
    if (key.endsWith('num_batches_tracked')) continue;
    if (!(value instanceof TensorRef)) {
      throw new CheckpointError(`pickle is not a state dict (entry '${key}' is of type ${pyTypeName(value)}, not a tensor)`);
    }
    if (!elementReader(value.storage.dtype, littleEndian)) throw new CheckpointError(`tensor '${key}' has unsupported dtype ${value.storage.dtype}`);
    const numel = checkedNumel(key, value);
    result.set(key, readTensor(key, value, numel, storageBytes(value.storage), littleEndian));
  }
  return result;
}

/** A zip checkpoint: the object from `<prefix>/data.pkl`, storages from `<prefix>/data/<key>`. */
function readZipCheckpoint(bytes: Uint8Array): StateDict {
  const archive = new ZipArchive(bytes);
  const pickleName = archive.names.find((name) => /^[^/]+\/data\.pkl$/.test(name));
  if (pickleName === undefined) throw new CheckpointError('zip archive has no <name>/data.pkl (not a PyTorch checkpoint)');
  const prefix = pickleName.slice(0, -'data.pkl'.length);
  const byteorder = archive.read(`${prefix}byteorder`, 16);
  const order = byteorder === undefined ? 'little' : new TextDecoder().decode(byteorder).trim();
  if (order !== 'little' && order !== 'big') throw new CheckpointError(`unknown byteorder '${order}'`);
  const storages = new Map<string, StorageRef>();
  const top = unpickle(archive.read(pickleName, MAX_PICKLE_BYTES)!, 0, { globals: TORCH_GLOBALS, persistentLoad: storageLoader(storages) }).value;
  // Only the storages the state dict references are inflated, each once, never past its declared size.
  const inflated = new Map<string, Uint8Array>();
  const storageBytes = (storage: StorageRef): Uint8Array => {
    let data = inflated.get(storage.key);
    if (data === undefined) {
      data = archive.read(`${prefix}data/${storage.key}`, storage.numel * ELEMENT_BYTES[storage.dtype]);
      if (data === undefined) throw new CheckpointError(`zip archive has no storage ${prefix}data/${storage.key}`);
      inflated.set(storage.key, data);
    }
    return data;
  };
  return toStateDict(top, storageBytes, order === 'little');
}

/** The number every legacy checkpoint starts with (torch.serialization.MAGIC_NUMBER). */
const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL_VERSION = 1001;
const NO_GLOBALS: ReadonlyMap<string, PyValue> = new Map();

/** The offset just past the legacy magic-number pickle, or undefined when the bytes do not start with one. */
function legacyMagicEnd(bytes: Uint8Array): number | undefined {
  try {
    const { value, end } = unpickle(bytes, 0, { globals: NO_GLOBALS });
    return value === LEGACY_MAGIC ? end : undefined;
  } catch (error) {
    if (error instanceof CheckpointError) return undefined;
    throw error;
  }
}

/** A legacy checkpoint whose magic-number pickle ends at `offset`. */
function readLegacyCheckpoint(bytes: Uint8Array, offset: number): StateDict {
  const version = unpickle(bytes, offset, { globals: NO_GLOBALS });
  if (version.value !== LEGACY_PROTOCOL_VERSION) {
    throw new CheckpointError(`unsupported legacy checkpoint protocol version ${String(version.value)}`);
  }
  const sysInfo = unpickle(bytes, version.end, { globals: NO_GLOBALS });
  const littleEndian = !(sysInfo.value instanceof Map && sysInfo.value.get('little_endian') === false);
  const storages = new Map<string, StorageRef>();
  const object = unpickle(bytes, sysInfo.end, { globals: TORCH_GLOBALS, persistentLoad: storageLoader(storages) });
  const keyList = unpickle(bytes, object.end, { globals: NO_GLOBALS });
  if (!Array.isArray(keyList.value) || !keyList.value.every((key) => typeof key === 'string')) {
    throw new CheckpointError('corrupt legacy checkpoint: the storage key list is not a list of strings');
  }
  // The raw storages follow in key-list order, each as an int64 element count and the elements.
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const storageData = new Map<string, Uint8Array>();
  let position = keyList.end;
  for (const key of keyList.value as string[]) {
    const storage = storages.get(key);
    if (storage === undefined) throw new CheckpointError(`corrupt legacy checkpoint: storage '${key}' is listed but never used`);
    if (position + 8 > bytes.length) throw new CheckpointError(`truncated legacy checkpoint (storage '${key}' is missing)`);
    const numel = Number(view.getBigInt64(position, littleEndian));
    if (numel !== storage.numel) {
      throw new CheckpointError(`corrupt legacy checkpoint: storage '${key}' holds ${numel} elements, the pickle says ${storage.numel}`);
    }
    const start = position + 8;
    position = start + numel * ELEMENT_BYTES[storage.dtype];
    if (position > bytes.length) throw new CheckpointError(`truncated legacy checkpoint (storage '${key}' is cut short)`);
    storageData.set(key, bytes.subarray(start, position));
  }
  const storageBytes = (storage: StorageRef): Uint8Array => {
    const data = storageData.get(storage.key);
    if (data === undefined) throw new CheckpointError(`corrupt legacy checkpoint: storage '${storage.key}' is not in the storage list`);
    return data;
  };
  return toStateDict(object.value, storageBytes, littleEndian);
}

/**
 * The float32 state dict stored in a PyTorch checkpoint (zip or legacy format), in the checkpoint's key
 * order. A top-level dict with a `state_dict` entry is unwrapped; `num_batches_tracked` entries are
 * dropped; float64 / float16 / bfloat16 tensors are converted to float32; strided views are made
 * contiguous. Every failure is an `InputError` whose one-line message starts with `source`.
 */
export function readStateDict(bytes: Uint8Array, source: string): StateDict {
  try {
    if (bytes.length === 0) throw new CheckpointError('empty file');
    if (isZip(bytes)) return readZipCheckpoint(bytes);
    const magicEnd = legacyMagicEnd(bytes);
    if (magicEnd === undefined) throw new CheckpointError('not a PyTorch checkpoint (neither a zip archive nor a legacy pickle)');
    return readLegacyCheckpoint(bytes, magicEnd);
  } catch (error) {
    if (error instanceof CheckpointError) throw new InputError(`${source}: ${error.message}`);
    throw error;
  }
}
