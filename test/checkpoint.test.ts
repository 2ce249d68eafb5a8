import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { zipSync } from 'fflate';
import { importCheckpoint, stateDictToResNet } from '../src/model/checkpoint/resnet.js';
import { readStateDict } from '../src/model/checkpoint/torch.js';
import { BN_EPS, type NamedTensor, type StateDict } from '../src/model/types.js';
import { InputError } from '../src/util/errors.js';

const models = new URL('../../shared/models/', import.meta.url);
const readModel = (path: string): Uint8Array => new Uint8Array(readFileSync(new URL(path, models)));

/** The element of a row-major tensor at a multi-index. */
function at(tensor: NamedTensor, index: readonly number[]): number {
  assert.equal(index.length, tensor.shape.length);
  const flat = index.reduce((offset, i, d) => offset * tensor.shape[d]! + i, 0);
  return tensor.data[flat]!;
}

/** Asserts that `fn` throws an InputError with a one-line message equal to (or matching) `expected`. */
function throwsInput(fn: () => unknown, expected: string | RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof InputError, `expected an InputError, got ${String(error)}`);
    assert.doesNotMatch(error.message, /\n/);
    if (typeof expected === 'string') assert.equal(error.message, expected);
    else assert.match(error.message, expected);
    return true;
  });
}

type Spot = [key: string, index: number[], value: number];

/**
 * Reference values, obtained independently of this package with Python's standard library only (no
 * torch): `pickle.Unpickler` with a `find_class` that maps torch._utils._rebuild_tensor[_v2] to a record
 * of (storage, offset, size, stride) and a `persistent_load` that records the storage key, then
 * `struct.unpack_from('<f', raw, 4 * (offset + sum(i * stride)))` on the raw bytes: for zip files the
 * archive's data/<key> entry (zipfile), for legacy files the storage bytes found by walking the int64
 * counts after the key-list pickle. Values are the float32 elements, printed with repr().
 */
const CHECKPOINTS: { file: string; n: number; spots: Spot[] }[] = [
  {
    file: 'resnet56.th',
    n: 9,
    spots: [
      ['module.conv1.weight', [0, 0, 0, 0], 0.022336086258292198],
      ['module.conv1.weight', [15, 2, 2, 1], -0.4240134060382843],
      ['module.bn1.running_mean', [7], 0.2170923799276352],
      ['module.layer2.0.bn1.running_var', [31], 0.5117046236991882],
      ['module.layer3.8.conv2.weight', [63, 62, 2, 1], 0.010196313261985779],
      ['module.linear.weight', [9, 63], 0.1023668572306633],
      ['module.linear.bias', [0], 0.05575885623693466],
    ],
  },
  {
    file: 'resnet110.th',
    n: 18,
    spots: [
      ['module.conv1.weight', [0, 0, 0, 0], 0.013428503647446632],
      ['module.conv1.weight', [15, 2, 2, 1], 0.4001947045326233],
      ['module.bn1.running_mean', [7], 0.030575904995203018],
      ['module.layer2.0.bn1.running_var', [31], 0.8810486197471619],
      ['module.layer3.17.conv2.weight', [63, 62, 2, 1], -0.011828691698610783],
      ['module.linear.weight', [9, 63], -0.20355316996574402],
      ['module.linear.bias', [0], 0.07831967622041702],
    ],
  },
  {
    file: 'public/resnet20-12fca82f.th',
    n: 3,
    spots: [
      ['module.conv1.weight', [0, 0, 0, 0], -0.13818146288394928],
      ['module.conv1.weight', [15, 2, 2, 1], 0.6991925239562988],
      ['module.bn1.running_mean', [7], 0.4693446159362793],
      ['module.layer2.0.bn1.running_var', [31], 4.084237098693848],
      ['module.layer3.2.conv2.weight', [63, 62, 2, 1], -0.08850118517875671],
      ['module.linear.weight', [9, 63], 0.22667697072029114],
      ['module.linear.bias', [0], 0.19355906546115875],
    ],
  },
  {
    file: 'public/resnet32-d509ac18.th',
    n: 5,
    spots: [
      ['module.conv1.weight', [0, 0, 0, 0], 0.40355396270751953],
      ['module.conv1.weight', [15, 2, 2, 1], 0.28163424134254456],
      ['module.bn1.running_mean', [7], -0.0002982683654408902],
      ['module.layer2.0.bn1.running_var', [31], 4.423552989959717],
      ['module.layer3.4.conv2.weight', [63, 62, 2, 1], -0.024967042729258537],
      ['module.linear.weight', [9, 63], -0.33422181010246277],
      ['module.linear.bias', [0], 0.1762789636850357],
    ],
  },
  {
    file: 'public/resnet44-014dd654.th',
    n: 7,
    spots: [
      ['module.conv1.weight', [0, 0, 0, 0], 0.06434207409620285],
      ['module.conv1.weight', [15, 2, 2, 1], -0.0004449295811355114],
      ['module.bn1.running_mean', [7], -0.019953692331910133],
      ['module.layer2.0.bn1.running_var', [31], 4.105363368988037],
      ['module.layer3.6.conv2.weight', [63, 62, 2, 1], -0.018184656277298927],
      ['module.linear.weight', [9, 63], 0.7765446305274963],
      ['module.linear.bias', [0], 0.06990382075309753],
    ],
  },
  {
    file: 'public/resnet56-4bfd9763.th',
    n: 9,
    spots: [
      ['module.conv1.weight', [0, 0, 0, 0], -0.21604876220226288],
      ['module.conv1.weight', [15, 2, 2, 1], -0.017711911350488663],
      ['module.bn1.running_mean', [7], 0.0068374937400221825],
      ['module.layer2.0.bn1.running_var', [31], 8.370894432067871],
      ['module.layer3.8.conv2.weight', [63, 62, 2, 1], -0.011934852227568626],
      ['module.linear.weight', [9, 63], 0.19989809393882751],
      ['module.linear.bias', [0], 0.13465537130832672],
    ],
  },
];

for (const { file, n, spots } of CHECKPOINTS) {
  test(`${file} imports as a ResNet-${6 * n + 2} with the reference weights`, () => {
    const bytes = readModel(file);
    const dict = readStateDict(bytes, file);
    assert.equal(dict.size, 30 * n + 7, 'num_batches_tracked entries are dropped');
    for (const [key, tensor] of dict) {
      assert.ok(!key.endsWith('num_batches_tracked'));
      assert.equal(tensor.data.length, tensor.shape.reduce((a, b) => a * b, 1), key);
    }
    for (const [key, index, value] of spots) assert.equal(at(dict.get(key)!, index), value, `${key}[${index}]`);

    const params = importCheckpoint(bytes, file);
    assert.equal(params.n, n);
    assert.equal(params.depth, 6 * n + 2);
    assert.equal(params.numClasses, 10);
    assert.equal(params.units.length, 3 * n);
    assert.equal(params.stem.conv.weight[0], spots[0]![2]);
    assert.equal(params.stem.bn.eps, BN_EPS);
    // layer2.0.bn1.running_var[31] and layer3.(n-1).conv2.weight[63,62,2,1] through the parameter structure.
    assert.equal(params.units[n]!.bn1.runningVar[31], spots[3]![2]);
    assert.equal(params.units[3 * n - 1]!.conv2.weight[((63 * 64 + 62) * 3 + 2) * 3 + 1], spots[4]![2]);
    assert.equal(params.classifier.weight[9 * 64 + 63], spots[5]![2]);
    assert.equal(params.classifier.bias[0], spots[6]![2]);

    const layout = params.units.map((u) => [u.stage, u.indexInStage, u.inChannels, u.outChannels, u.stride, u.inSize, u.outSize]);
    assert.deepEqual(layout[0], [1, 0, 16, 16, 1, 32, 32]);
    assert.deepEqual(layout[n - 1], [1, n - 1, 16, 16, 1, 32, 32]);
    assert.deepEqual(layout[n], [2, 0, 16, 32, 2, 32, 16]);
    assert.deepEqual(layout[n + 1], [2, 1, 32, 32, 1, 16, 16]);
    assert.deepEqual(layout[2 * n], [3, 0, 32, 64, 2, 16, 8]);
    assert.deepEqual(layout[3 * n - 1], [3, n - 1, 64, 64, 1, 8, 8]);
    assert.deepEqual(
      [params.units[n]!.conv1.stride, params.units[n]!.conv2.stride, params.units[n]!.conv1.inChannels],
      [2, 1, 16],
    );
  });
}

test('state dicts without the module. prefix import to the same parameters', () => {
  const dict = readStateDict(readModel('public/resnet20-12fca82f.th'), 'resnet20.th');
  const bare: StateDict = new Map([...dict].map(([key, tensor]) => [key.slice('module.'.length), tensor]));
  const params = stateDictToResNet(bare, 'resnet20.th');
  assert.equal(params.n, 3);
  assert.equal(params.stem.conv.weight[0], -0.13818146288394928);
  assert.equal(params.classifier.bias[0], 0.19355906546115875);
});

// ---- A tiny pickle writer, so that tests can build checkpoints with known contents. -------------------

const utf8 = new TextEncoder();

/** Concatenate bytes (numbers) and byte arrays. */
function cat(...parts: (number | Uint8Array)[]): Uint8Array {
  const arrays = parts.map((part) => (typeof part === 'number' ? Uint8Array.of(part) : part));
  const out = new Uint8Array(arrays.reduce((sum, a) => sum + a.length, 0));
  let offset = 0;
  for (const a of arrays) {
    out.set(a, offset);
    offset += a.length;
  }
  return out;
}
const le32 = (value: number): Uint8Array => {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setInt32(0, value, true);
  return out;
};
/** Opcodes pushing one value each (protocol 2): BINUNICODE, BININT, MARK..TUPLE, GLOBAL, REDUCE... */
const py = {
  str: (s: string) => cat(0x58, le32(utf8.encode(s).length), utf8.encode(s)),
  int: (n: number) => cat(0x4a, le32(n)),
  tuple: (...items: Uint8Array[]) => cat(0x28, ...items, 0x74),
  list: (...items: Uint8Array[]) => cat(0x5d, 0x28, ...items, 0x65),
  dict: (...keysAndValues: Uint8Array[]) => cat(0x7d, 0x28, ...keysAndValues, 0x75),
  global: (module: string, name: string) => cat(0x63, utf8.encode(`${module}\n${name}\n`)),
  call: (callable: Uint8Array, args: Uint8Array) => cat(callable, args, 0x52),
  pickle: (body: Uint8Array) => cat(0x80, 0x02, body, 0x2e),
};
/** `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())`, as torch.save writes it. */
function pyTensor(storageType: string, key: string, numel: number, offset: number, size: number[], stride: number[]): Uint8Array {
  const storage = cat(py.tuple(py.str('storage'), py.global('torch', storageType), py.str(key), py.str('cpu'), py.int(numel)), 0x51);
  const hooks = py.call(py.global('collections', 'OrderedDict'), cat(0x29));
  const args = py.tuple(storage, py.int(offset), py.tuple(...size.map(py.int)), py.tuple(...stride.map(py.int)), cat(0x89), hooks);
  return py.call(py.global('torch._utils', '_rebuild_tensor_v2'), args);
}
/** A zip checkpoint holding `dataPkl` as archive/data.pkl and the given storages as archive/data/<key>. */
function zipCheckpoint(dataPkl: Uint8Array, storages: Record<string, Uint8Array> = {}, byteorder = 'little'): Uint8Array {
  const files: Record<string, Uint8Array> = { 'archive/data.pkl': dataPkl, 'archive/byteorder': utf8.encode(byteorder) };
  for (const [key, data] of Object.entries(storages)) files[`archive/data/${key}`] = data;
  return zipSync(files, { level: 0 });
}
/** A legacy checkpoint: magic number 0x1950a86a20f9469cfc6c, version 1001, sys info, `main`, then an empty key list. */
function legacyCheckpoint(main: Uint8Array): Uint8Array {
  const magic = py.pickle(cat(0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19));
  const sysInfo = py.pickle(py.dict(py.str('little_endian'), cat(0x88)));
  return cat(magic, py.pickle(py.int(1001)), sysInfo, main, py.pickle(py.list()));
}

test('strided float64, float16 and bfloat16 tensors come out contiguous float32; num_batches_tracked is dropped', () => {
  // An OrderedDict as torch pickles it: OrderedDict(), its items, then BUILD with its _metadata attribute.
  const items = [
    py.str('t64'), pyTensor('DoubleStorage', '0', 10, 1, [2, 3], [1, 2]),
    py.str('half'), pyTensor('HalfStorage', '1', 6, 0, [6], [1]),
    py.str('bf16'), pyTensor('BFloat16Storage', '2', 2, 0, [2, 1], [1, 1]),
    py.str('bn.num_batches_tracked'), pyTensor('LongStorage', '3', 1, 0, [], []),
  ];
  const metadata = py.dict(py.str('_metadata'), py.dict());
  const dataPkl = py.pickle(cat(py.call(py.global('collections', 'OrderedDict'), cat(0x29)), 0x28, ...items, 0x75, metadata, 0x62));
  const checkpoint = zipCheckpoint(dataPkl, {
    0: new Uint8Array(Float64Array.from({ length: 10 }, (_, k) => k + 0.5).buffer),
    1: new Uint8Array(Uint16Array.of(0x3c00, 0xc000, 0x3555, 0x0001, 0x7c00, 0xfbff).buffer),
    2: new Uint8Array(Uint16Array.of(0x3f80, 0xc0a0).buffer),
    3: new Uint8Array(BigInt64Array.of(123n).buffer),
  });
  const dict = readStateDict(checkpoint, 'synthetic.pt');
  assert.deepEqual([...dict.keys()], ['t64', 'half', 'bf16']);
  // t64[r][c] = storage[1 + r + 2c], storage[k] = k + 0.5.
  assert.deepEqual(dict.get('t64'), { shape: [2, 3], data: Float32Array.of(1.5, 3.5, 5.5, 2.5, 4.5, 6.5) });
  assert.deepEqual(dict.get('half'), { shape: [6], data: Float32Array.of(1, -2, 0.333251953125, 2 ** -24, Infinity, -65504) });
  assert.deepEqual(dict.get('bf16'), { shape: [2, 1], data: Float32Array.of(1, -5) });
});

test('big-endian zip checkpoints are read in their byte order', () => {
  const storage = new Uint8Array(16);
  [1.5, -2, 0.25, 3].forEach((value, i) => new DataView(storage.buffer).setFloat32(4 * i, value, false));
  const dataPkl = py.pickle(py.dict(py.str('w'), pyTensor('FloatStorage', '0', 4, 0, [2, 2], [2, 1])));
  const dict = readStateDict(zipCheckpoint(dataPkl, { 0: storage }, 'big'), 'be.pt');
  assert.deepEqual(dict.get('w'), { shape: [2, 2], data: Float32Array.of(1.5, -2, 0.25, 3) });
});

// ---- Bad input. ---------------------------------------------------------------------------------------

test('an empty file is refused', () => {
  throwsInput(() => importCheckpoint(new Uint8Array(0), 'x.th'), 'x.th: empty file');
});

test('random bytes are refused', () => {
  const bytes = new Uint8Array(4096);
  let state = 12345;
  for (let i = 0; i < bytes.length; i++) {
    state = (state * 1103515245 + 12345) >>> 0;
    bytes[i] = state >>> 24;
  }
  throwsInput(() => importCheckpoint(bytes, 'x.th'), 'x.th: not a PyTorch checkpoint (neither a zip archive nor a legacy pickle)');
});

test('a truncated zip checkpoint is refused', () => {
  const bytes = readModel('resnet56.th');
  throwsInput(() => importCheckpoint(bytes.subarray(0, bytes.length >> 1), 'resnet56.th'), 'resnet56.th: truncated or corrupt zip archive (no end of central directory)');
});

test('a truncated legacy checkpoint is refused', () => {
  const bytes = readModel('public/resnet20-12fca82f.th');
  throwsInput(() => importCheckpoint(bytes.subarray(0, 600_000), 'resnet20.th'), /^resnet20\.th: truncated legacy checkpoint \(storage '\d+' is/);
});

test('a zip checkpoint whose data.pkl is corrupted is refused by its CRC', () => {
  const bytes = readModel('resnet56.th').slice();
  // data.pkl is the archive's first entry, stored uncompressed right after its local header; its byte 2
  // is the EMPTY_DICT opcode of the top-level dict.
  const view = new DataView(bytes.buffer);
  const dataPkl = 30 + view.getUint16(26, true) + view.getUint16(28, true);
  assert.equal(bytes[dataPkl + 2], 0x7d);
  bytes[dataPkl + 2] = 0xff;
  throwsInput(() => importCheckpoint(bytes, 'resnet56.th'), /^resnet56\.th: truncated or corrupt zip archive \(CRC mismatch in [^/]+\/data\.pkl\)$/);
});

test('a pickle that is not a state dict is refused', () => {
  // \x80\x02 ] ( K\x01 K\x02 e . = the protocol-2 pickle of [1, 2].
  const listPickle = Uint8Array.of(0x80, 0x02, 0x5d, 0x28, 0x4b, 0x01, 0x4b, 0x02, 0x65, 0x2e);
  throwsInput(() => importCheckpoint(zipCheckpoint(listPickle), 'x.th'), 'x.th: pickle is not a state dict (top-level object is a list)');
  throwsInput(() => importCheckpoint(legacyCheckpoint(listPickle), 'x.th'), 'x.th: pickle is not a state dict (top-level object is a list)');
  const notTensors = py.pickle(py.dict(py.str('state_dict'), py.dict(py.str('epoch'), py.int(3))));
  throwsInput(() => readStateDict(zipCheckpoint(notTensors), 'x.th'), "x.th: pickle is not a state dict (entry 'epoch' is of type int, not a tensor)");
});

test('a tensor reaching past the end of its storage is refused', () => {
  const dataPkl = py.pickle(py.dict(py.str('w'), pyTensor('FloatStorage', '0', 4, 1, [4], [1])));
  throwsInput(() => readStateDict(zipCheckpoint(dataPkl, { 0: new Uint8Array(16) }), 'x.th'), "x.th: tensor 'w' reaches past the end of its storage '0'");
});

test('a pickle naming a global outside the whitelist is refused before anything is called', () => {
  const system = py.pickle(py.call(py.global('os', 'system'), py.tuple(py.str('echo pwned'))));
  throwsInput(() => importCheckpoint(zipCheckpoint(system), 'x.th'), "x.th: unsupported pickle global 'os.system'");
  throwsInput(() => importCheckpoint(legacyCheckpoint(system), 'x.th'), "x.th: unsupported pickle global 'os.system'");
  // Protocol 4 spelling: SHORT_BINUNICODE 'posix', SHORT_BINUNICODE 'system', STACK_GLOBAL.
  const stackGlobal = cat(0x80, 0x04, 0x8c, 5, utf8.encode('posix'), 0x8c, 6, utf8.encode('system'), 0x93, 0x2e);
  throwsInput(() => importCheckpoint(zipCheckpoint(stackGlobal), 'x.th'), "x.th: unsupported pickle global 'posix.system'");
});

function loadResNet20(): StateDict {
  return readStateDict(readModel('public/resnet20-12fca82f.th'), 'resnet20.th');
}

test('a state dict with a missing key is refused, naming the key', () => {
  const dict = loadResNet20();
  dict.delete('module.layer2.0.bn1.running_var');
  throwsInput(
    () => stateDictToResNet(dict, 'resnet20.th'),
    'resnet20.th: not a CIFAR ResNet checkpoint: missing key module.layer2.0.bn1.running_var',
  );
});

test('a state dict with an extra key is refused, naming the key', () => {
  const dict = loadResNet20();
  dict.set('module.fc.weight', { shape: [10, 64], data: new Float32Array(640) });
  throwsInput(() => stateDictToResNet(dict, 'resnet20.th'), 'resnet20.th: not a CIFAR ResNet checkpoint: unexpected key module.fc.weight');
  // A missing fourth unit in one stage is reported as the first key it lacks.
  const uneven = loadResNet20();
  uneven.set('module.layer1.3.conv1.weight', { shape: [16, 16, 3, 3], data: new Float32Array(2304) });
  throwsInput(() => stateDictToResNet(uneven, 'resnet20.th'), 'resnet20.th: not a CIFAR ResNet checkpoint: missing key module.layer1.3.bn1.weight');
});

test('a state dict with a wrong shape is refused, naming key and shapes', () => {
  const dict = loadResNet20();
  dict.set('module.layer1.0.conv1.weight', { shape: [16, 8, 3, 3], data: new Float32Array(16 * 8 * 9) });
  throwsInput(() => stateDictToResNet(dict, 'resnet20.th'), 'resnet20.th: module.layer1.0.conv1.weight has shape [16,8,3,3], expected [16,16,3,3]');
  const linear = loadResNet20();
  linear.set('module.linear.bias', { shape: [100], data: new Float32Array(100) });
  throwsInput(() => stateDictToResNet(linear, 'resnet20.th'), 'resnet20.th: module.linear.bias has shape [100], expected [10]');
});
