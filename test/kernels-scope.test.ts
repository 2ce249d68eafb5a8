/**
 * The seam's memory owner and precision families, measured by the allocator itself
 * (assembly/memory.ts allocatedBlocks: blocks handed out and not yet released):
 * - a scope releases every block it allocated when its body returns, throws, or (async) settles, and
 *   runs its deferred cleanups last first; nested scopes release only their own; a block handed out
 *   with keep(), or everything with keepAll(), survives its scope until its new owner releases it;
 * - a large block (past the heap's limit, served from memory.grow) released by a throwing scope is
 *   reused by the next request of that size without growing memory;
 * - a routine that fails halfway (a JavaScript operator throwing inside Lanczos) leaves nothing behind;
 * - typed('f64') / typed('f32') are the F64 / F32 exports; any other precision is a RangeError.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { topSingularTriplets } from '../src/spectrum/lanczos.js';
import { instantiateKernels, type Kernels, type Precision, type WasmScope } from '../src/wasm/kernels.js';

/** A kernel instance of its own, so that no other test's blocks are counted. */
async function freshKernels(): Promise<Kernels> {
  return instantiateKernels(await readFile(new URL('../build/resnet-stability.wasm', import.meta.url)));
}

test('a scope releases its blocks and runs its cleanups, last first, when the body returns', async () => {
  const kernels = await freshKernels();
  const before = kernels.allocatedBlocks();
  const order: string[] = [];
  const sum = kernels.scope((s) => {
    const a = s.copyIn(Float64Array.of(1, 2, 3));
    s.defer(() => order.push('first deferred'));
    const b = s.copyIn(Float32Array.of(4, 5));
    s.allocBytes(100);
    s.defer(() => order.push('second deferred'));
    assert.equal(kernels.allocatedBlocks(), before + 3);
    return kernels.f64(a, 3).reduce((x, y) => x + y) + kernels.f32(b, 2).reduce((x, y) => x + y);
  });
  assert.equal(sum, 15);
  assert.equal(kernels.allocatedBlocks(), before);
  assert.deepEqual(order, ['second deferred', 'first deferred']);
});

test('a thrown error inside a scope releases everything and reaches the caller unchanged', async () => {
  const kernels = await freshKernels();
  const before = kernels.allocatedBlocks();
  const failure = new Error('kernel input rejected');
  let cleaned = false;
  assert.throws(
    () =>
      kernels.scope((s) => {
        s.allocF64(1000);
        s.copyInAs([1, 2, 3], 'f32');
        s.defer(() => (cleaned = true));
        s.allocBytes(8);
        throw failure;
      }),
    (error) => error === failure,
  );
  assert.equal(kernels.allocatedBlocks(), before);
  assert.ok(cleaned);
});

test('an async scope holds its blocks until its promise settles, then releases them (also on rejection)', async () => {
  const kernels = await freshKernels();
  const before = kernels.allocatedBlocks();
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const running = kernels.scope(async (s) => {
    s.allocF64(10);
    await gate;
    s.allocF64(10);
    throw new RangeError('late failure');
  });
  await Promise.resolve();
  assert.equal(kernels.allocatedBlocks(), before + 1, 'the block is held while the body awaits');
  release();
  await assert.rejects(running, RangeError);
  assert.equal(kernels.allocatedBlocks(), before);
  assert.equal(await kernels.scope(async (s) => (s.allocBytes(4), 'done')), 'done');
  assert.equal(kernels.allocatedBlocks(), before);
});

test('nested scopes release their own blocks; keep() hands a block out to its new owner', async () => {
  const kernels = await freshKernels();
  const before = kernels.allocatedBlocks();
  let handedOut = 0;
  kernels.scope((outer) => {
    outer.allocF64(4);
    const fromInner = kernels.scope((inner) => {
      inner.allocF64(4);
      const result = inner.copyIn(Float64Array.of(7, 8));
      assert.equal(kernels.allocatedBlocks(), before + 3);
      return outer.own(inner.keep(result));
    });
    assert.equal(kernels.allocatedBlocks(), before + 2, 'the inner scope released only its own block');
    assert.deepEqual(Array.from(kernels.f64(fromInner, 2)), [7, 8], 'the kept block still holds its data');
    handedOut = kernels.scope((inner) => inner.keep(inner.allocBytes(32)));
    assert.equal(kernels.allocatedBlocks(), before + 3);
  });
  assert.equal(kernels.allocatedBlocks(), before + 1, 'a kept block nobody took over outlives every scope');
  kernels.release(handedOut);
  assert.equal(kernels.allocatedBlocks(), before);
});

test('a scope can release a block early, and refuses blocks it does not own and use after closing', async () => {
  const kernels = await freshKernels();
  const before = kernels.allocatedBlocks();
  const stranger = kernels.allocBytes(16);
  let closed: WasmScope | undefined;
  kernels.scope((s) => {
    const a = s.allocF64(8);
    s.release(a);
    assert.equal(kernels.allocatedBlocks(), before + 1);
    assert.throws(() => s.release(a), /not owned by this scope/);
    assert.throws(() => s.keep(stranger), /not owned by this scope/);
    closed = s;
  });
  assert.throws(() => closed!.allocF64(1), /after it closed/);
  kernels.release(stranger);
  assert.equal(kernels.allocatedBlocks(), before);
});

test('keepAll() hands everything a scope built to a new owner, and nothing when the body throws first', async () => {
  const kernels = await freshKernels();
  const before = kernels.allocatedBlocks();
  const destroyed: string[] = [];
  const build = (fail: boolean) =>
    kernels.scope((s) => {
      s.allocF64(16);
      s.defer(() => destroyed.push('record'));
      s.allocBytes(4);
      if (fail) throw new Error('half built');
      return s.keepAll();
    });
  assert.throws(() => build(true), /half built/);
  assert.equal(kernels.allocatedBlocks(), before);
  assert.deepEqual(destroyed, ['record']);
  const owner = build(false);
  assert.equal(kernels.allocatedBlocks(), before + 2, 'the built blocks outlive the scope');
  assert.deepEqual(destroyed, ['record'], 'the kept cleanup has not run');
  owner.close();
  owner.close();
  assert.equal(kernels.allocatedBlocks(), before);
  assert.deepEqual(destroyed, ['record', 'record']);
});

test('a large block released by a throwing scope is reused by the next request without growing memory', async () => {
  const kernels = await freshKernels();
  const bytes = 300 * 2 ** 20; // past the heap's 256 MiB limit: served from memory.grow
  let first = 0;
  assert.throws(() =>
    kernels.scope((s) => {
      first = s.allocBytes(bytes);
      throw new Error('stop');
    }),
  );
  const pages = kernels.memory.buffer.byteLength;
  const second = kernels.scope((s) => s.allocBytes(bytes));
  assert.equal(second, first);
  assert.equal(kernels.memory.buffer.byteLength, pages);
  assert.equal(kernels.allocatedBlocks(), 0);
});

test('a routine failing halfway (Lanczos with a throwing operator) leaves no block behind', async () => {
  const kernels = await freshKernels();
  const before = kernels.allocatedBlocks();
  let products = 0;
  const failing = {
    shape: [40, 30] as const,
    apply(x: Float64Array, k: number) {
      if (++products > 3) throw new Error('operator failed');
      return new Float64Array(k * 40).fill(x[0]);
    },
    applyTranspose(y: Float64Array, k: number) {
      return new Float64Array(k * 30).fill(y[0]);
    },
  };
  await assert.rejects(topSingularTriplets(failing, 2, { kernels }), /operator failed/);
  assert.ok(products > 3);
  assert.equal(kernels.allocatedBlocks(), before);
});

test('typed(precision) is the F64 or F32 family of exports; any other precision is a RangeError', async () => {
  const kernels = await freshKernels();
  const f64 = kernels.typed('f64'), f32 = kernels.typed('f32');
  assert.equal(f64.gebrd, kernels.exports.gebrdF64);
  assert.equal(f32.gebrd, kernels.exports.gebrdF32);
  assert.equal(f64.operatorApplyTranspose, kernels.exports.operatorApplyTransposeF64);
  assert.equal(f32.unitOperatorCreate, kernels.exports.unitOperatorCreateF32);
  assert.equal(f64.bytes, 8);
  assert.equal(f32.bytes, 4);
  assert.ok(f32.array(3) instanceof Float32Array);
  assert.equal(kernels.typed('f64'), f64, 'one family per precision and instance');
  for (const bad of ['f16', 'F64', '', undefined]) {
    assert.throws(() => kernels.typed(bad as unknown as Precision), RangeError);
  }
});
